import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Sandbox } from 'e2b';
import type { Stack } from '@sandboxd/e2e/stack';
import { loopbackHttpTransferMs } from './baselines.js';
import { median, timeRuns, type BenchRow } from './stats.js';

const MB = 1024 * 1024;
const ENVD_PORT = 49983;
const SANDBOX_LIFETIME_MS = 3_600_000;

/** `bytes` of text that gzip shrinks several times (log-like lines), for the compressed path. */
function compressiblePayload(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let at = 0;
  for (let i = 0; at < bytes; i++) at += out.write(`${new Date(1_700_000_000_000 + i * 997).toISOString()} worker-${i % 17} handled request ${i} in ${(i * 7919) % 1000} ms\n`, at);
  return out;
}

/** The sandbox's address on the host side (the daemon's runtime record): the agent without the daemon's proxy. */
function sandboxAddress(stack: Stack, sandboxId: string): string {
  const record = JSON.parse(readFileSync(join(stack.home, 'sandboxes', sandboxId, 'runtime.json'), 'utf8')) as { address: string };
  return record.address;
}

/** One request straight to envd's `/files` on the sandbox's address; resolves once the whole body is read. */
function envdFiles(address: string, token: string, method: 'GET' | 'POST', path: string, body?: Buffer, gzip = false): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'X-Access-Token': token, Authorization: `Basic ${Buffer.from('user:').toString('base64')}` };
    if (body) headers['Content-Type'] = 'application/octet-stream';
    if (gzip) headers['Accept-Encoding'] = 'gzip';
    const req = request({ host: address, port: ENVD_PORT, method, path: `/files?path=${encodeURIComponent(path)}`, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${method} /files: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const mbPerSec = (bytes: number, ms: number): number => bytes / MB / (ms / 1000);

/**
 * File transfer hop by hop (issue 12, item 3): the same random payload over plain loopback HTTP,
 * through the SDK (daemon proxy → agent → disk), straight to the agent (no daemon), and written
 * inside the sandbox by `dd` (the disk under gVisor alone). Figures in MB/s.
 */
export async function benchFiles(stack: Stack, sizeMB = 100, runs = 3): Promise<BenchRow[]> {
  const bytes = sizeMB * MB;
  const payload = randomFillSync(Buffer.alloc(bytes));
  const loopback = await loopbackHttpTransferMs(bytes, runs);
  const rows: BenchRow[] = [];
  // An hour to live: at the default 5 minutes, slow transfers on a loaded machine outlived the
  // sandbox, whose end resets its in-flight streams (the ECONNRESET of earlier runs).
  const sbx = await Sandbox.create('base', { ...stack.sdk, requestTimeoutMs: 120_000, timeoutMs: SANDBOX_LIFETIME_MS });
  try {
    const token = (sbx as unknown as { envdAccessToken?: string }).envdAccessToken ?? '';
    const address = sandboxAddress(stack, sbx.sandboxId);
    const file = '/home/user/bench-files.bin';
    const opts = { requestTimeoutMs: 300_000 };
    const note = (what: string, ms: number): void => void process.stderr.write(`files: ${what} ${ms.toFixed(0)} ms\n`);
    const sdkUp = median(await timeRuns(runs, () => sbx.files.write(file, payload.buffer.slice(payload.byteOffset, payload.byteOffset + bytes) as ArrayBuffer, opts)));
    note('sdkUp', sdkUp);
    const sdkDown = median(await timeRuns(runs, () => sbx.files.read(file, { format: 'bytes', ...opts })));
    note('sdkDown', sdkDown);
    const directUp = median(await timeRuns(runs, () => envdFiles(address, token, 'POST', file, payload)));
    note('directUp', directUp);
    const directDown = median(await timeRuns(runs, () => envdFiles(address, token, 'GET', file)));
    note('directDown', directDown);
    const directDownGzip = median(await timeRuns(runs, () => envdFiles(address, token, 'GET', file, undefined, true)));
    note('directDownGzip', directDownGzip);
    // Text: gzip on the wire (the SDK's fetch asks for it), decompressed by the client.
    const textFile = '/home/user/bench-files.txt';
    const text = compressiblePayload(bytes);
    await sbx.files.write(textFile, text.buffer.slice(text.byteOffset, text.byteOffset + bytes) as ArrayBuffer, opts);
    const sdkDownText = median(await timeRuns(runs, () => sbx.files.read(textFile, { format: 'bytes', ...opts })));
    note('sdkDownText', sdkDownText);
    const directDownTextGzip = median(await timeRuns(runs, () => envdFiles(address, token, 'GET', textFile, undefined, true)));
    note('directDownTextGzip', directDownTextGzip);
    const dd = await sbx.commands.run(`dd if=/dev/zero of=/home/user/bench-dd.bin bs=1M count=${sizeMB} 2>&1 | tail -1; dd if=/home/user/bench-dd.bin of=/dev/null bs=1M 2>&1 | tail -1`, opts);
    const ddLines = dd.stdout.trim().split('\n');
    const ddSecs = ddLines.map((l) => Number(/, ([\d.]+) s,/.exec(l)?.[1] ?? NaN) * 1000);
    const up = mbPerSec(bytes, loopback.upload);
    const down = mbPerSec(bytes, loopback.download);
    const row = (name: string, ms: number, baseline: number): BenchRow => ({ name: `${sizeMB} MB ${name}`, value: mbPerSec(bytes, ms), unit: 'MB/s', baselineName: 'loopback HTTP', baseline });
    rows.push(row('upload, SDK `files.write` (multipart, through the daemon)', sdkUp, up));
    rows.push(row('upload, octet-stream straight to the agent (no daemon)', directUp, up));
    rows.push(row('download, SDK `files.read` (through the daemon)', sdkDown, down));
    rows.push(row('download straight to the agent, identity', directDown, down));
    rows.push(row('download straight to the agent, `Accept-Encoding: gzip` (random bytes: sent as they are)', directDownGzip, down));
    rows.push(row('download of text, SDK `files.read` (gzip on the wire)', sdkDownText, down));
    rows.push(row('download of text straight to the agent, `Accept-Encoding: gzip`', directDownTextGzip, down));
    if (Number.isFinite(ddSecs[0])) rows.push(row('`dd` write inside the sandbox (bs=1M)', ddSecs[0] ?? 0, up));
    if (Number.isFinite(ddSecs[1])) rows.push(row('`dd` read inside the sandbox (bs=1M)', ddSecs[1] ?? 0, down));
  } finally {
    await sbx.kill();
  }
  return rows;
}

/**
 * `clients` SDK clients at once, each uploading then downloading its own `sizeMB` file in the
 * same sandbox (the many-clients case of issue 12): aggregate MB/s each way, beside loopback.
 * Every transfer is checked (size) so a reset or a short body fails the run instead of passing.
 */
export async function benchFilesConcurrent(stack: Stack, sizeMB: number, clients: number): Promise<BenchRow[]> {
  const bytes = sizeMB * MB;
  const payload = randomFillSync(Buffer.alloc(bytes));
  const loopback = await loopbackHttpTransferMs(bytes, 3);
  const sbx = await Sandbox.create('base', { ...stack.sdk, requestTimeoutMs: 120_000, timeoutMs: SANDBOX_LIFETIME_MS });
  const opts = { requestTimeoutMs: 1_800_000 };
  try {
    const body = payload.buffer.slice(payload.byteOffset, payload.byteOffset + bytes) as ArrayBuffer;
    const each = Array.from({ length: clients }, (_, i) => `/home/user/bench-files-${i}.bin`);
    let started = performance.now();
    await Promise.all(each.map((file) => sbx.files.write(file, body, opts)));
    const upMs = performance.now() - started;
    process.stderr.write(`files: ${clients} clients up ${upMs.toFixed(0)} ms\n`);
    started = performance.now();
    const got = await Promise.all(each.map((file) => sbx.files.read(file, { format: 'bytes', ...opts })));
    const downMs = performance.now() - started;
    process.stderr.write(`files: ${clients} clients down ${downMs.toFixed(0)} ms\n`);
    for (const data of got) if (data.length !== bytes) throw new Error(`a download returned ${data.length} of ${bytes} bytes`);
    const total = bytes * clients;
    return [
      { name: `${clients} × ${sizeMB} MB upload at once, SDK, aggregate`, value: mbPerSec(total, upMs), unit: 'MB/s', baselineName: 'loopback HTTP, one client', baseline: mbPerSec(bytes, loopback.upload) },
      { name: `${clients} × ${sizeMB} MB download at once, SDK, aggregate`, value: mbPerSec(total, downMs), unit: 'MB/s', baselineName: 'loopback HTTP, one client', baseline: mbPerSec(bytes, loopback.download) },
    ];
  } finally {
    await sbx.kill();
  }
}
