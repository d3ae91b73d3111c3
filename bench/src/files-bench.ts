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
  const sbx = await Sandbox.create('base', { ...stack.sdk, requestTimeoutMs: 120_000 });
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
    rows.push(row('download straight to the agent, `Accept-Encoding: gzip`', directDownGzip, down));
    if (Number.isFinite(ddSecs[0])) rows.push(row('`dd` write inside the sandbox (bs=1M)', ddSecs[0] ?? 0, up));
    if (Number.isFinite(ddSecs[1])) rows.push(row('`dd` read inside the sandbox (bs=1M)', ddSecs[1] ?? 0, down));
  } finally {
    await sbx.kill();
  }
  return rows;
}
