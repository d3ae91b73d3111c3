import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Code, ConnectError } from '@connectrpc/connect';
import { fileSignature } from '@sandboxd/protocol';
import { asUser, createTempUser, startAgent } from '../test/agent-fixture.js';
import type { AgentFixture } from '../test/agent-fixture.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Raw GET without fetch's transparent decompression; returns status, headers and body bytes. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('envd HTTP endpoints without an access token', () => {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgent();
  });
  after(async () => {
    await fx.stop();
  });
  const files = (query: Record<string, string>) => `${fx.url}/files?${new URLSearchParams(query)}`;

  it('serves /health (204), /envs and /metrics', async () => {
    assert.equal((await fetch(`${fx.url}/health`)).status, 204);
    assert.deepEqual(await (await fetch(`${fx.url}/envs`)).json(), { SANDBOX_GLOBAL: 'from-sandbox' });
    const m = (await (await fetch(`${fx.url}/metrics`)).json()) as Record<string, number>;
    for (const key of ['ts', 'cpu_count', 'cpu_used_pct', 'mem_total', 'mem_used', 'mem_cache', 'mem_total_mib', 'mem_used_mib', 'disk_used', 'disk_total']) {
      assert.equal(typeof m[key], 'number', key);
    }
    assert.ok((m['mem_total'] ?? 0) > 0 && (m['cpu_count'] ?? 0) > 0);
    const missing = await fetch(`${fx.url}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { code: number }).code, 404);
  });

  it('round-trips a 50 MB binary via multipart upload and plain download, byte-identical', async () => {
    const data = randomBytes(50 * 1024 * 1024);
    const path = join(fx.dir, 'big', 'multipart.bin');
    const form = new FormData();
    form.append('file', new Blob([data]), path);
    const up = await fetch(files({ path }), { method: 'POST', body: form });
    assert.equal(up.status, 200);
    assert.deepEqual(await up.json(), [{ path, name: 'multipart.bin', type: 'file' }]);
    assert.equal((await stat(path)).size, data.length);
    const down = await rawGet(files({ path }), {});
    assert.equal(down.status, 200);
    assert.equal(Number(down.headers['content-length']), data.length);
    assert.equal(sha(down.body), sha(data));
  });

  it('round-trips a 50 MB binary via gzip octet-stream upload and gzip download', async () => {
    const data = randomBytes(50 * 1024 * 1024);
    const path = join(fx.dir, 'big', 'octet.bin');
    const gz = gzipSync(data, { level: 1 });
    const up = await fetch(files({ path }), {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' },
      body: new ReadableStream({
        start(controller) {
          for (let off = 0; off < gz.length; off += 1 << 20) controller.enqueue(gz.subarray(off, off + (1 << 20)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(up.status, 200);
    assert.deepEqual(await up.json(), [{ path, name: 'octet.bin', type: 'file' }]);
    assert.equal(sha(await readFile(path)), sha(data));
    // Random bytes do not compress: they come back as they are, sized, whatever the client admits.
    const down = await rawGet(files({ path }), { 'Accept-Encoding': 'gzip' });
    assert.equal(down.headers['content-encoding'], undefined);
    assert.equal(Number(down.headers['content-length']), data.length);
    assert.equal(sha(down.body), sha(data));
    // Unless identity is refused: then gzip, compressible or not.
    const forced = await rawGet(files({ path }), { 'Accept-Encoding': 'gzip, identity;q=0' });
    assert.equal(forced.headers['content-encoding'], 'gzip');
    assert.equal(sha(gunzipSync(forced.body)), sha(data));
  });

  it('gzips a compressible download when the client admits gzip, and only then', async () => {
    const text = Buffer.from('a line of text that repeats itself\n'.repeat(200_000));
    const path = join(fx.dir, 'big', 'text.txt');
    await mkdir(join(fx.dir, 'big'), { recursive: true });
    await writeFile(path, text);
    const zipped = await rawGet(files({ path }), { 'Accept-Encoding': 'gzip, deflate' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < text.length / 10, `${zipped.body.length} bytes for ${text.length}`);
    assert.equal(sha(gunzipSync(zipped.body)), sha(text));
    const plain = await rawGet(files({ path }), {});
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(sha(plain.body), sha(text));
  });

  it('uploads several multipart files at once, each to its own path, creating parents', async () => {
    const form = new FormData();
    const a = join(fx.dir, 'multi', 'x', 'a.txt');
    const b = join(fx.dir, 'multi', 'y', 'b.txt');
    form.append('file', new Blob(['A']), a);
    form.append('file', new Blob(['B']), b);
    const res = await fetch(`${fx.url}/files`, { method: 'POST', body: form });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Array<{ path: string }>).map((e) => e.path), [a, b]);
    assert.equal(await readFile(a, 'utf8'), 'A');
    assert.equal(await readFile(b, 'utf8'), 'B');
    const dup = new FormData();
    dup.append('file', new Blob(['1']), a);
    dup.append('file', new Blob(['2']), a);
    const dupRes = await fetch(`${fx.url}/files`, { method: 'POST', body: dup });
    assert.equal(dupRes.status, 400);
  });

  it('downloads empty files with Content-Length 0 and supports ranges', async () => {
    const empty = join(fx.dir, 'empty.txt');
    await writeFile(empty, '');
    const res = await fetch(files({ path: empty }));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '0');
    assert.equal((await res.arrayBuffer()).byteLength, 0);
    const text = join(fx.dir, 'range.txt');
    await writeFile(text, '0123456789');
    const whole = await fetch(files({ path: text }));
    assert.equal(whole.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(whole.headers.get('content-disposition'), 'inline; filename=range.txt');
    assert.equal(await whole.text(), '0123456789');
    const part = await rawGet(files({ path: text }), { Range: 'bytes=2-5' });
    assert.equal(part.status, 206);
    assert.equal(part.body.toString(), '2345');
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
  });

  it('answers download errors with envd status codes and bodies', async () => {
    const missing = await fetch(files({ path: join(fx.dir, 'missing.txt') }));
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { code: 404, message: `path '${join(fx.dir, 'missing.txt')}' does not exist` });
    const dir = await fetch(files({ path: fx.dir }));
    assert.equal(dir.status, 400);
    const badUser = await fetch(files({ path: fx.dir, username: 'no-such-user-xyz' }));
    assert.equal(badUser.status, 401);
  });

  it('rejects uploads onto a directory and unsupported content types', async () => {
    const onDir = await fetch(files({ path: fx.dir }), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: 'x' });
    assert.equal(onDir.status, 400);
    const badType = await fetch(files({ path: join(fx.dir, 't.txt') }), { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' });
    assert.equal(badType.status, 400);
    const noPath = await fetch(`${fx.url}/files`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: 'x' });
    assert.equal(noPath.status, 400);
  });

  it('stores X-Metadata-* headers as metadata, returns it, and replaces it on overwrite', async () => {
    const path = join(fx.dir, 'meta', 'm.txt');
    const up = await fetch(files({ path }), {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'X-Metadata-Owner': 'me', 'X-Metadata-Purpose': 'test run' },
      body: 'data',
    });
    assert.deepEqual(await up.json(), [{ path, name: 'm.txt', type: 'file', metadata: { owner: 'me', purpose: 'test run' } }]);
    assert.deepEqual({ ...(await fx.fs.stat({ path })).entry?.metadata }, { owner: 'me', purpose: 'test run' });
    const listed = await fx.fs.listDir({ path: join(fx.dir, 'meta'), depth: 1 });
    assert.deepEqual({ ...listed.entries[0]?.metadata }, { owner: 'me', purpose: 'test run' });
    await fetch(files({ path }), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', 'X-Metadata-Owner': 'you' }, body: 'again' });
    assert.deepEqual({ ...(await fx.fs.stat({ path })).entry?.metadata }, { owner: 'you' });
    await fetch(files({ path }), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: 'plain' });
    assert.deepEqual({ ...(await fx.fs.stat({ path })).entry?.metadata }, {});
    const bad = await fetch(files({ path }), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', 'X-Metadata-Big': 'x'.repeat(5000) }, body: 'x' });
    assert.equal(bad.status, 400);
  });

  it('writes files as the requested user: owner and parent directories chowned', async () => {
    const user = createTempUser();
    try {
      const path = join(fx.dir, 'userdir', 'nested', 'u.txt');
      await mkdir(join(fx.dir, 'userdir'));
      const res = await fetch(files({ path, username: user.name }), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: 'u' });
      assert.equal(res.status, 200);
      const entry = (await fx.fs.stat({ path })).entry;
      assert.equal(entry?.owner, user.name);
      assert.equal(entry?.group, user.name);
      assert.equal((await fx.fs.stat({ path: join(fx.dir, 'userdir', 'nested') })).entry?.owner, user.name);
      assert.equal((await fx.fs.stat({ path: join(fx.dir, 'userdir') })).entry?.owner, 'root');
      const home = await fetch(files({ path: 'rel.txt', username: user.name }), { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: 'h' });
      assert.deepEqual(((await home.json()) as Array<{ path: string }>)[0]?.path, `/home/${user.name}/rel.txt`);
      const viaRpc = await fx.fs.stat({ path: '~/rel.txt' }, { headers: asUser(user.name) });
      assert.equal(viaRpc.entry?.size, 1n);
    } finally {
      user.remove();
    }
  });
});

describe('envd access token and signed /files URLs', () => {
  let fx: AgentFixture;
  const token = 'secret-token-123';
  before(async () => {
    fx = await startAgent({ accessToken: token });
  });
  after(async () => {
    await fx.stop();
  });

  it('requires X-Access-Token on RPC and plain routes except /health', async () => {
    assert.equal((await fetch(`${fx.url}/health`)).status, 204);
    const envs = await fetch(`${fx.url}/envs`);
    assert.equal(envs.status, 401);
    assert.deepEqual(await envs.json(), {
      code: 401,
      message: 'unauthorized access, please provide a valid access token or method signing if supported',
    });
    assert.equal((await fetch(`${fx.url}/envs`, { headers: { 'X-Access-Token': token } })).status, 200);
    const rpc = await fetch(`${fx.url}/process.Process/List`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(rpc.status, 401);
    const ok = await fx.process.list({});
    assert.ok(Array.isArray(ok.processes));
    try {
      await fx.process.list({}, { headers: { 'X-Access-Token': 'wrong' } });
      assert.fail('expected unauthenticated');
    } catch (err) {
      assert.equal(ConnectError.from(err).code, Code.Unauthenticated);
    }
  });

  it('accepts /files with the header token or a valid signature, and rejects otherwise', async () => {
    const path = join(fx.dir, 'signed.txt');
    await writeFile(path, 'signed content');
    assert.equal((await fetch(`${fx.url}/files?${new URLSearchParams({ path })}`)).status, 401);
    assert.equal((await fetch(`${fx.url}/files?${new URLSearchParams({ path })}`, { headers: { 'X-Access-Token': token } })).status, 200);
    assert.equal((await fetch(`${fx.url}/files?${new URLSearchParams({ path })}`, { headers: { 'X-Access-Token': 'bad' } })).status, 401);

    const read = fileSignature({ path, operation: 'read', username: '', accessToken: token });
    const res = await fetch(`${fx.url}/files?${new URLSearchParams({ path, signature: read })}`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'signed content');

    const asRoot = fileSignature({ path, operation: 'read', username: 'root', accessToken: token });
    assert.equal((await fetch(`${fx.url}/files?${new URLSearchParams({ path, username: 'root', signature: asRoot })}`)).status, 200);
    assert.equal((await fetch(`${fx.url}/files?${new URLSearchParams({ path, signature: asRoot })}`)).status, 401, 'username is signed');

    const wrongOp = await fetch(`${fx.url}/files?${new URLSearchParams({ path, signature: read })}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: 'x',
    });
    assert.equal(wrongOp.status, 401);
    const write = fileSignature({ path, operation: 'write', username: '', accessToken: token });
    const up = await fetch(`${fx.url}/files?${new URLSearchParams({ path, signature: write })}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: 'rewritten',
    });
    assert.equal(up.status, 200);
    assert.equal(await readFile(path, 'utf8'), 'rewritten');
  });

  it('honours signature_expiration', async () => {
    const path = join(fx.dir, 'exp.txt');
    await writeFile(path, 'e');
    const future = Math.floor(Date.now() / 1000) + 60;
    const past = Math.floor(Date.now() / 1000) - 60;
    const sig = (expiration: number) => fileSignature({ path, operation: 'read', username: '', accessToken: token, expiration });
    const ok = await fetch(`${fx.url}/files?${new URLSearchParams({ path, signature: sig(future), signature_expiration: String(future) })}`);
    assert.equal(ok.status, 200);
    const expired = await fetch(`${fx.url}/files?${new URLSearchParams({ path, signature: sig(past), signature_expiration: String(past) })}`);
    assert.equal(expired.status, 401);
    assert.equal(((await expired.json()) as { message: string }).message, 'signature is already expired');
    const tampered = await fetch(`${fx.url}/files?${new URLSearchParams({ path, signature: sig(future), signature_expiration: String(future + 1) })}`);
    assert.equal(tampered.status, 401);
  });
});
