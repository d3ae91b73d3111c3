import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { ENVD_PORT, fileSignature } from '@sandboxd/protocol';
import { KEEP_ALIVE_TIMEOUT_MS } from './daemon.js';
import { FakeRuntime, defaultFakeHandler } from './testing/fake-runtime.js';
import type { FakeHandler } from './testing/fake-runtime.js';
import { TEST_API_KEY, startStack, withTimeout } from './testing/harness.js';
import type { RunningStack } from './testing/harness.js';

const USER_PORT = 41234;
const upstreamClosed = new Set<string>();
let releaseStream: () => void = () => {};

const handler: FakeHandler = (sandbox, port, req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/stream') {
    res.writeHead(200, { 'content-type': 'application/connect+json' });
    res.write('first\n');
    void new Promise<void>((resolve) => (releaseStream = resolve)).then(() => res.end('second\n'));
    return;
  }
  if (path === '/hang') {
    const tag = new URL(req.url!, 'http://x').searchParams.get('tag') ?? '';
    res.on('close', () => upstreamClosed.add(tag));
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('tick\n');
    return;
  }
  defaultFakeHandler(sandbox, port, req, res);
};

interface Sbx {
  sandboxID: string;
  envdAccessToken: string;
}

/** A request through node:http resolving with the response once headers arrive. */
function request(url: string, options: http.RequestOptions & { body?: Buffer | Readable } = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { ...options, agent: false }, resolve);
    req.on('error', reject);
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += chunk;
  return text;
}

/** Resolves with 'end' when the body completes cleanly, 'reset' when the connection breaks. */
function outcome(res: IncomingMessage): Promise<'end' | 'reset'> {
  return new Promise((resolve) => {
    res.on('end', () => resolve('end'));
    res.on('error', () => resolve('reset'));
    res.on('aborted', () => resolve('reset'));
    res.resume();
  });
}

describe('daemon over real sockets', () => {
  let stack: RunningStack;
  const rest = async (method: string, path: string, body?: unknown) =>
    fetch(`${stack.url}${path}`, {
      method,
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const create = async (body: Record<string, unknown> = {}): Promise<Sbx> => {
    const res = await rest('POST', '/v2/sandboxes', { templateID: 'base', ...body });
    assert.equal(res.status, 201);
    return (await res.json()) as Sbx;
  };
  const sandboxHeaders = (s: Sbx, port = ENVD_PORT) => ({ 'e2b-sandbox-id': s.sandboxID, 'e2b-sandbox-port': String(port), 'x-access-token': s.envdAccessToken });

  before(async () => {
    stack = await startStack({ runtime: new FakeRuntime({ ports: [ENVD_PORT, USER_PORT], handler }) });
  });
  after(async () => {
    await stack.close();
  });

  it('keeps idle client connections for at least 640 s', () => {
    assert.ok(KEEP_ALIVE_TIMEOUT_MS >= 640_000);
    assert.equal(stack.daemon.server.keepAliveTimeout, KEEP_ALIVE_TIMEOUT_MS);
  });

  it('routes by E2b-Sandbox-Id/Port without an API key, forwarding path, query and headers', async () => {
    const sbx = await create();
    const health = await fetch(`${stack.url}/health`, { headers: sandboxHeaders(sbx) });
    assert.equal(health.status, 204);
    const res = await fetch(`${stack.url}/echo?x=1`, { headers: sandboxHeaders(sbx, USER_PORT) });
    assert.equal(res.status, 200);
    const echo = (await res.json()) as { sandboxId: string; port: number; url: string; headers: Record<string, string> };
    assert.equal(echo.sandboxId, sbx.sandboxID);
    assert.equal(echo.port, USER_PORT);
    assert.equal(echo.url, '/echo?x=1');
    assert.equal(echo.headers['x-access-token'], sbx.envdAccessToken);
    // a REST path carrying the sandbox header is sandbox traffic
    const viaHeader = await fetch(`${stack.url}/v2/sandboxes`, { headers: sandboxHeaders(sbx) });
    assert.equal(((await viaHeader.json()) as { sandboxId: string }).sandboxId, sbx.sandboxID);
    // and REST without a key stays unauthorized
    assert.equal((await fetch(`${stack.url}/v2/sandboxes`)).status, 401);
  });

  it('routes by Host <port>-<id>.<domain>, including WebSocket upgrades', async () => {
    const sbx = await create();
    const host = `${USER_PORT}-${sbx.sandboxID}.sandboxd.local`;
    const res = await request(`${stack.url}/echo`, { headers: { host } });
    const echo = JSON.parse(await readAll(res)) as { sandboxId: string; port: number };
    assert.deepEqual([echo.sandboxId, echo.port], [sbx.sandboxID, USER_PORT]);

    const socket = await withTimeout(
      new Promise<net.Socket>((resolve, reject) => {
        const req = http.request(`${stack.url}/ws`, { headers: { host, connection: 'Upgrade', upgrade: 'websocket' }, agent: false });
        req.on('upgrade', (up, s) => (up.statusCode === 101 ? resolve(s) : reject(new Error(String(up.statusCode)))));
        req.on('response', (r) => reject(new Error(`no upgrade: ${r.statusCode}`)));
        req.on('error', reject);
        req.end();
      }),
      3000,
      'upgrade',
    );
    socket.write('ping-through-tunnel');
    const echoed = await withTimeout(new Promise<string>((resolve) => socket.once('data', (d) => resolve(String(d)))), 3000, 'ws echo');
    assert.equal(echoed, 'ping-through-tunnel');
    socket.destroy();

    const missing = await request(`${stack.url}/ws`, { headers: { host: `${USER_PORT}-inope.sandboxd.local` } });
    assert.equal(missing.statusCode, 502);
  });

  it('routes signed /files URLs without a sandbox header to the signing sandbox', async () => {
    const a = await create();
    const b = await create();
    const signature = fileSignature({ path: '/home/user/x.txt', operation: 'read', username: '', accessToken: b.envdAccessToken });
    const res = await fetch(`${stack.url}/files?${new URLSearchParams({ path: '/home/user/x.txt', signature })}`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sandboxId: string }).sandboxId, b.sandboxID);
    assert.notEqual(a.sandboxID, b.sandboxID);
    const bogus = await fetch(`${stack.url}/files?path=%2Fa&signature=v1_nope`);
    assert.equal(bogus.status, 502);
  });

  it('answers unknown and killed sandboxes with the exact E2B 502 body', async () => {
    const unknown = await fetch(`${stack.url}/health`, { headers: { 'e2b-sandbox-id': 'iunknown000000000000a', 'e2b-sandbox-port': '49983' } });
    assert.equal(unknown.status, 502);
    assert.equal(await unknown.text(), '{"sandboxId":"iunknown000000000000a","message":"The sandbox was not found","code":502}');
    const sbx = await create();
    assert.equal((await rest('DELETE', `/sandboxes/${sbx.sandboxID}`)).status, 204);
    const killed = await fetch(`${stack.url}/health`, { headers: sandboxHeaders(sbx) });
    assert.equal(killed.status, 502);
    assert.deepEqual(await killed.json(), { sandboxId: sbx.sandboxID, message: 'The sandbox was not found', code: 502 });
  });

  it('flushes each upstream chunk as it is written', async () => {
    const sbx = await create();
    const res = await request(`${stack.url}/stream`, { method: 'POST', headers: sandboxHeaders(sbx) });
    const first = await withTimeout(new Promise<string>((resolve) => res.once('data', (d) => resolve(String(d)))), 3000, 'first chunk');
    assert.equal(first, 'first\n');
    releaseStream();
    assert.equal(await readAll(res), 'second\n');
  });

  it('streams 50 MB both ways', async () => {
    const sbx = await create();
    const size = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x62);
    const body = Readable.from((function* () {
      for (let i = 0; i < size / chunk.length; i++) yield chunk;
    })());
    const up = await withTimeout(request(`${stack.url}/count`, { method: 'POST', headers: sandboxHeaders(sbx), body }), 20_000, 'upload');
    assert.deepEqual(JSON.parse(await readAll(up)), { bytes: size });
    const down = await request(`${stack.url}/bytes?n=${size}`, { headers: sandboxHeaders(sbx) });
    assert.equal(down.headers['content-length'], String(size));
    let received = 0;
    for await (const piece of down) received += (piece as Buffer).length;
    assert.equal(received, size);
  });

  it('cancels the upstream request when the client goes away', async () => {
    const sbx = await create();
    const controller = new AbortController();
    const res = await fetch(`${stack.url}/hang?tag=abort`, { headers: sandboxHeaders(sbx), signal: controller.signal });
    const reader = res.body!.getReader();
    await reader.read();
    assert.equal(upstreamClosed.has('abort'), false);
    controller.abort();
    await withTimeout(
      (async () => {
        while (!upstreamClosed.has('abort')) await new Promise((r) => setTimeout(r, 10));
      })(),
      2000,
      'upstream cancel',
    );
  });

  it('resets in-flight streams when the sandbox is killed or expires', async () => {
    const killed = await create();
    const res = await request(`${stack.url}/hang?tag=kill`, { headers: sandboxHeaders(killed) });
    const result = outcome(res);
    assert.equal(stack.daemon.sandboxes.find(killed.sandboxID)?.sandboxId, killed.sandboxID);
    assert.equal((await rest('DELETE', `/sandboxes/${killed.sandboxID}`)).status, 204);
    assert.equal(await withTimeout(result, 2000, 'reset on kill'), 'reset');

    const expiring = await create({ timeout: 1 });
    const res2 = await request(`${stack.url}/hang?tag=expire`, { headers: sandboxHeaders(expiring) });
    assert.equal(await withTimeout(outcome(res2), 3000, 'reset on expiry'), 'reset');
    const health = await fetch(`${stack.url}/health`, { headers: sandboxHeaders(expiring) });
    assert.equal(health.status, 502);
  });
});

describe('daemon robustness', () => {
  it('survives malformed requests on the socket', async () => {
    const stack = await startStack();
    try {
      const { port } = new URL(stack.url);
      const raw = (text: string) =>
        withTimeout(
          new Promise<string>((resolve) => {
            const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(text));
            let out = '';
            socket.on('data', (d) => (out += d));
            socket.on('close', () => resolve(out));
            socket.on('error', () => resolve(out));
          }),
          3000,
          'raw request',
        );
      assert.match(await raw('GET http://[bad HTTP/1.1\r\nhost: x\r\n\r\n'), /^HTTP\/1.1 4\d\d/);
      assert.match(await raw('GET /files HTTP/1.1\r\nhost: [::\r\n\r\n'), /^HTTP\/1.1 (4|5)\d\d/);
      await raw('\x00\x01garbage\r\n\r\n');
      await raw(`GET / HTTP/1.1\r\nx: ${'a'.repeat(100_000)}\r\n\r\n`);
      await raw('POST /v2/sandboxes HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{"te');
      const res = await fetch(`${stack.url}/v2/sandboxes`, { headers: { 'x-api-key': TEST_API_KEY } });
      assert.equal(res.status, 200);
    } finally {
      await stack.close();
    }
  });
});

describe('daemon restart', () => {
  it('keeps running sandboxes reachable through a restart on the same home', async () => {
    const runtime = new FakeRuntime();
    const first = await startStack({ runtime });
    try {
      const res = await fetch(`${first.url}/v2/sandboxes`, {
        method: 'POST',
        headers: { 'x-api-key': TEST_API_KEY },
        body: JSON.stringify({ templateID: 'base', metadata: { keep: 'me' } }),
      });
      const sbx = (await res.json()) as Sbx;
      await first.stopDaemon();
      const second = await startStack({ runtime, home: first.home });
      try {
        const detail = await fetch(`${second.url}/sandboxes/${sbx.sandboxID}`, { headers: { 'x-api-key': TEST_API_KEY } });
        assert.equal(detail.status, 200);
        const body = (await detail.json()) as { metadata: Record<string, string>; envdAccessToken: string };
        assert.deepEqual(body.metadata, { keep: 'me' });
        assert.equal(body.envdAccessToken, sbx.envdAccessToken);
        const health = await fetch(`${second.url}/health`, { headers: { 'e2b-sandbox-id': sbx.sandboxID } });
        assert.equal(health.status, 204);
      } finally {
        await second.stopDaemon();
      }
    } finally {
      await first.close();
    }
  });
});
