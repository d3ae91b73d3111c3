import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Signal } from '@sandboxd/protocol';
import { startAgent } from '../test/agent-fixture.js';
import type { AgentFixture } from '../test/agent-fixture.js';

interface RawOptions {
  /** Destroy the socket this long after writing (a client that goes away mid-request). */
  abortAfterMs?: number;
  /** Give up waiting for the answer after this long. */
  waitMs?: number;
}

/** Writes raw bytes to the agent and returns what came back (until close or `waitMs`). */
function raw(port: number, bytes: Buffer, opts: RawOptions = {}): Promise<{ status: number | undefined; text: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let timedOut = false;
    const done = (): void => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text, timedOut });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      s.destroy();
      done();
    }, opts.waitMs ?? 3000);
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', () => undefined);
    s.on('close', done);
    s.on('connect', () => {
      s.write(bytes);
      if (opts.abortAfterMs !== undefined) setTimeout(() => s.destroy(), opts.abortAfterMs);
    });
  });
}

/** An HTTP/1.1 request; `length` overrides Content-Length (a body shorter than promised). */
function http(method: string, path: string, headers: Record<string, string>, body: Buffer | string = '', length?: number): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1');
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const cl = headers['Transfer-Encoding'] ? '' : `Content-Length: ${length ?? b.length}\r\n`;
  return Buffer.concat([Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n${lines}${cl}\r\n`, 'latin1'), b]);
}

const B = 'bOuNdArY';
const part = (name: string, filename: string | undefined, content: string): string =>
  `--${B}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}\r\n\r\n${content}\r\n`;
const multipart = { 'Content-Type': `multipart/form-data; boundary=${B}` };
const octet = { 'Content-Type': 'application/octet-stream' };
/** A Connect streaming envelope. */
const envelope = (json: string, flags = 0): Buffer => {
  const payload = Buffer.from(json);
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
};
const connectStream = { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1' };

describe('the agent never dies of bad input', () => {
  let fx: AgentFixture;
  let port: number;
  before(async () => {
    fx = await startAgent();
    port = Number(new URL(fx.url).port);
  });
  after(async () => {
    await fx.stop();
  });

  /** The agent is alive, nothing reached the safety net, and a normal upload + download works. */
  const stillServing = async (label: string): Promise<void> => {
    assert.equal(fx.child.exitCode, null, `${label}: agent exited: ${fx.logs.join('\n')}`);
    assert.equal((await fetch(`${fx.url}/health`)).status, 204, label);
    const path = join(fx.dir, 'ok.txt');
    const up = await fetch(`${fx.url}/files?${new URLSearchParams({ path })}`, { method: 'POST', headers: octet, body: label });
    assert.equal(up.status, 200, label);
    assert.equal(await (await fetch(`${fx.url}/files?${new URLSearchParams({ path })}`)).text(), label);
    assert.ok((await fx.process.list({})).processes !== undefined, label);
    const bugs = fx.logs.filter((l) => l.includes('safety net'));
    assert.deepEqual(bugs, [], `${label}: reached the safety net`);
  };
  const expect = async (label: string, bytes: Buffer, status: number, opts?: RawOptions): Promise<string> => {
    const res = await raw(port, bytes, opts);
    assert.equal(res.status, status, `${label}: ${res.text.slice(0, 300)}`);
    if (status >= 400) {
      const body = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)) as { code: number; message: string };
      assert.equal(body.code, status, label);
      assert.equal(typeof body.message, 'string', label);
    }
    await stillServing(label);
    return res.text;
  };

  it('answers broken multipart forms with 400 (a truncated form once crashed the agent)', async () => {
    const f = (name: string) => join(fx.dir, name);
    // Body complete per Content-Length but the form has no closing boundary: the parser errors the file stream.
    await expect('truncated form', http('POST', '/files', multipart, `--${B}\r\nContent-Disposition: form-data; name="file"; filename="${f('t1')}"\r\n\r\nhello`), 400);
    await expect('truncated part headers', http('POST', '/files', multipart, `--${B}\r\nContent-Disposi`), 400);
    await expect('no boundary parameter', http('POST', '/files', { 'Content-Type': 'multipart/form-data' }, 'x'), 400);
    await expect('empty boundary', http('POST', '/files', { 'Content-Type': 'multipart/form-data; boundary=' }, 'x'), 400);
    await expect('boundary never appears', http('POST', '/files', multipart, '--other\r\nx\r\n--other--\r\n'), 400);
    await expect('file part without filename', http('POST', '/files', multipart, `${part('file', undefined, 'x')}--${B}--\r\n`), 400);
    // envd (Go's multipart reader) accepts long part headers; the parser keeps the first 80 KiB of them.
    await expect('part header over 80 KiB', http('POST', '/files', multipart, `--${B}\r\nContent-Disposition: form-data; name="file"; filename="${f('h')}"\r\nX: ${'a'.repeat(100_000)}\r\n\r\nx\r\n--${B}--\r\n`), 200);
    assert.equal(await readFile(f('h'), 'utf8'), 'x');
    await expect('NUL in a part filename', http('POST', '/files', multipart, `${part('file', '/tmp/a\0b', 'x')}--${B}--\r\n`), 400);
    const ok = await expect('many fields and one file', http('POST', '/files', multipart, `${Array.from({ length: 2000 }, (_, i) => part(`f${i}`, undefined, 'v')).join('')}${part('file', f('m.txt'), 'M')}--${B}--\r\n`), 200);
    assert.match(ok, /m\.txt/);
    assert.equal(await readFile(f('m.txt'), 'utf8'), 'M');
  });

  it('answers bad Content-Encoding bodies with 400', async () => {
    const path = `/files?${new URLSearchParams({ path: join(fx.dir, 'gz.bin') })}`;
    await expect('gzip garbage, octet-stream', http('POST', path, { ...octet, 'Content-Encoding': 'gzip' }, 'not gzip at all'), 400);
    await expect('gzip garbage, multipart', http('POST', '/files', { ...multipart, 'Content-Encoding': 'gzip' }, 'not gzip at all'), 400);
    await expect('truncated gzip', http('POST', path, { ...octet, 'Content-Encoding': 'gzip' }, gzipSync(randomBytes(100_000)).subarray(0, 60)), 400);
    const form = gzipSync(`${part('file', join(fx.dir, 'gzf'), 'x'.repeat(50_000))}--${B}--\r\n`);
    await expect('truncated gzip multipart', http('POST', '/files', { ...multipart, 'Content-Encoding': 'gzip' }, form.subarray(0, form.length - 30)), 400);
    await expect('gzip with trailing garbage', http('POST', path, { ...octet, 'Content-Encoding': 'gzip' }, Buffer.concat([gzipSync('ok'), Buffer.from('garbage!')])), 400);
    for (const enc of ['deflate', 'br', 'zstd', 'gzip, gzip']) {
      await expect(`Content-Encoding ${enc}`, http('POST', path, { ...octet, 'Content-Encoding': enc }, 'xx'), 400);
    }
    // gzip's validation failures happen before the decompressor is wired up: nothing is left reading.
    await expect('gzip with a bad path', http('POST', `/files?path=${encodeURIComponent('~nobody/x')}`, { ...octet, 'Content-Encoding': 'gzip' }, 'garbage'), 400);
  });

  it('survives clients that disconnect mid-upload and mid-download', async () => {
    const big = join(fx.dir, 'big.bin');
    await writeFile(big, randomBytes(20 * 1024 * 1024));
    const uploadTo = `/files?${new URLSearchParams({ path: join(fx.dir, 'partial.bin') })}`;
    for (let i = 0; i < 5; i++) {
      await raw(port, http('POST', uploadTo, octet, randomBytes(1000), 1_000_000), { abortAfterMs: 20 });
      await raw(port, http('POST', uploadTo, { ...octet, 'Content-Encoding': 'gzip' }, gzipSync(randomBytes(100_000)).subarray(0, 5000), 1_000_000), { abortAfterMs: 20 });
      await raw(port, http('POST', '/files', multipart, `--${B}\r\nContent-Disposition: form-data; name="file"; filename="${join(fx.dir, 'p')}"\r\n\r\nhello`, 1_000_000), { abortAfterMs: 20 });
      await raw(port, http('GET', `/files?${new URLSearchParams({ path: big })}`, {}), { abortAfterMs: 5 });
      await raw(port, http('GET', `/files?${new URLSearchParams({ path: big })}`, { 'Accept-Encoding': 'gzip' }), { abortAfterMs: 5 });
      await raw(port, http('GET', `/files?${new URLSearchParams({ path: big })}`, { Range: 'bytes=100-9999999' }), { abortAfterMs: 5 });
    }
    await expect('malformed chunked body', http('POST', uploadTo, { ...octet, 'Transfer-Encoding': 'chunked' }, 'zz\r\nxxxx\r\n'), 400);
    await stillServing('after disconnects');
    // Nothing stays open: every file handle of those requests was closed.
    await new Promise((r) => setTimeout(r, 300));
    const open = execFileSync('ls', ['-l', `/proc/${fx.child.pid}/fd`], { encoding: 'utf8' });
    assert.ok(!open.includes('big.bin') && !open.includes('partial.bin'), open);
  });

  it('refuses FIFOs, sockets-like and odd paths without blocking, answers 4xx for bad paths and URLs', async () => {
    const fifo = join(fx.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // Opening a FIFO without a peer blocked a libuv thread for good; four of them froze all file I/O.
    for (let i = 0; i < 6; i++) {
      await expect('download a FIFO', http('GET', `/files?${new URLSearchParams({ path: fifo })}`, {}), 400);
      await expect('upload onto a FIFO', http('POST', `/files?${new URLSearchParams({ path: fifo })}`, octet, 'x'), 400);
    }
    await expect('download a directory', http('GET', `/files?${new URLSearchParams({ path: fx.dir })}`, {}), 400);
    await expect('download /dev/zero', http('GET', '/files?path=/dev/zero', { 'Accept-Encoding': 'gzip' }), 200);
    await expect('download /proc/self/mem (EIO on read)', http('GET', '/files?path=/proc/self/mem', {}), 200);
    await expect('NUL in a download path', http('GET', '/files?path=%2Ftmp%2Fa%00b', {}), 400);
    await expect('NUL in an upload path', http('POST', '/files?path=%2Ftmp%2Fa%00b', octet, 'x'), 400);
    await expect('invalid UTF-8 path', http('GET', '/files?path=%ff%fe', {}), 404);
    await expect('unparsable request URL', Buffer.from('GET //[::1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), 400);
    await expect('absolute URL with a bad host', Buffer.from('GET http://[x/files HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), 400);
    await expect('huge request headers', http('GET', '/health', { 'X-Big': 'a'.repeat(100_000) }), 431);
    const nul = await fetch(`${fx.url}/filesystem.Filesystem/Stat`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '/tmp/a\0b' }) });
    assert.equal(nul.status, 400);
    assert.equal(((await nul.json()) as { code: string }).code, 'invalid_argument');
  });

  it('cuts a download whose file shrinks while it is read instead of hanging', async () => {
    const path = join(fx.dir, 'shrinks.bin');
    await writeFile(path, randomBytes(32 * 1024 * 1024));
    const res = await new Promise<{ got: number; declared: number; ended: 'end' | 'error' | 'close' }>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let got = 0;
      let declared = 0;
      let head = '';
      s.on('connect', () => s.write(http('GET', `/files?${new URLSearchParams({ path })}`, {})));
      s.once('data', (d: Buffer) => {
        head = d.toString('latin1');
        declared = Number(/Content-Length: (\d+)/i.exec(head)?.[1] ?? 0);
        s.pause();
        // The agent is blocked on the socket now; shrink the file under it, then read on.
        void truncate(path, 1024).then(() => s.resume());
      });
      s.on('data', (d: Buffer) => (got += d.length));
      s.on('error', () => resolve({ got, declared, ended: 'error' }));
      s.on('end', () => resolve({ got, declared, ended: 'end' }));
    });
    assert.equal(res.declared, 32 * 1024 * 1024);
    assert.ok(res.got < res.declared, `got ${res.got}`);
    await stillServing('after a shrinking file');
  });

  it('answers malformed Connect requests with Connect errors', async () => {
    const stat = '/filesystem.Filesystem/Stat';
    const json = { 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' };
    await expectConnect('bad JSON', http('POST', stat, json, '{bad'), 400, 'invalid_argument');
    await expectConnect('wrong field type', http('POST', stat, json, '{"path":123}'), 400, 'invalid_argument');
    await expectConnect('deeply nested JSON', http('POST', stat, json, '['.repeat(100_000) + ']'.repeat(100_000)), 400, 'invalid_argument');
    await expectConnect('body shorter than promised', http('POST', stat, json, '{"pa', 100), undefined, undefined, { abortAfterMs: 50 });
    await expectConnect('Connect-Timeout-Ms that would overflow timers', http('POST', stat, { ...json, 'Connect-Timeout-Ms': '9999999999' }, '{"path":"/"}'), 400, 'invalid_argument');
    // Over the read limit: 429, or, when the agent's answer and close race the client still
    // sending its 70 MiB, a reset that loses the answer; never a hang, and the agent serves on.
    const oversized = await raw(port, http('POST', stat, json, JSON.stringify({ path: 'a'.repeat(70 * 1024 * 1024) })), { waitMs: 20_000 });
    assert.ok(oversized.status === 429 || (oversized.status === undefined && !oversized.timedOut), `over the read limit: ${oversized.status} ${oversized.text.slice(0, 200)}`);
    if (oversized.status === 429) assert.match(oversized.text, /resource_exhausted/);
    await stillServing('after a message over the read limit');
    const start = '/process.Process/Start';
    for (const [label, body] of [
      ['envelope promising more than sent', Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1, 2])],
      ['garbage in an envelope', envelope('{bad')],
      ['unknown envelope flags', envelope('{}', 0xfe)],
      ['compressed envelope', envelope('{}', 1)],
      ['no envelope at all', Buffer.from('{}')],
    ] as const) {
      const text = await expectConnect(label, http('POST', start, connectStream, body), 200);
      assert.match(text, /"error":\{"code":"[a-z_]+"/, label);
    }
    // Streams the client walks away from: the process and the watch are cleaned up.
    await raw(port, http('POST', start, connectStream, envelope('{"process":{"cmd":"/bin/sh","args":["-c","yes"]}}')), { abortAfterMs: 100 });
    await raw(port, http('POST', '/filesystem.Filesystem/WatchDir', connectStream, envelope(JSON.stringify({ path: fx.dir }))), { abortAfterMs: 100 });
    await raw(port, http('POST', '/process.Process/StreamInput', connectStream, Buffer.concat([envelope('{"start":{"process":{"pid":1}}}'), envelope('{bad')])), { waitMs: 1000 });
    // A keepalive interval of ~0 s is clamped to 1 s instead of spinning.
    const spin = await raw(port, http('POST', '/filesystem.Filesystem/WatchDir', { ...connectStream, 'Keepalive-Ping-Interval': '1e-300' }, envelope(JSON.stringify({ path: fx.dir }))), { waitMs: 1500 });
    assert.ok((spin.text.match(/keepalive/g) ?? []).length <= 2, spin.text.slice(0, 500));
    // The started process outlives its stream (as in envd); it can still be listed and killed.
    for (const p of (await fx.process.list({})).processes) {
      await fx.process.sendSignal({ process: { selector: { case: 'pid', value: p.pid } }, signal: Signal.SIGKILL });
    }

    await stillServing('after bad Connect streams');
  });

  const expectConnect = async (label: string, bytes: Buffer, status: number | undefined, code?: string, opts?: RawOptions): Promise<string> => {
    const res = await raw(port, bytes, opts);
    if (status !== undefined) assert.equal(res.status, status, `${label}: ${res.text.slice(0, 300)}`);
    if (code !== undefined) assert.match(res.text, new RegExp(`"code":"${code}"`), label);
    await stillServing(label);
    return res.text;
  };
});
