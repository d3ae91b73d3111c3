import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CODE_INTERPRETER_PORT, ENVD_PORT, ErrorCode, LoopbackForward, isSandboxdError, parseLoopbackTarget } from '@sandboxd/protocol';
import type { SandboxRecord } from '../sandboxes/sandbox-record.js';
import { silentLogger, withTimeout } from '../testing/harness.js';
import { dialSandboxPort } from './sandbox-dial.js';
import { createSandboxProxy } from './sandbox-proxy.js';

const SECRET = randomBytes(16).toString('hex');
const DOMAIN = 'sandboxd.test';
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/**
 * Agent stand-in on `<address>:49983`: the wire contract of the agent's CONNECT route (secret,
 * `localhost:<port>` target, 502 when nothing listens), dialling the host's 127.0.0.1, which is
 * not the fake sandbox address: a server there is refused at `<address>:<port>`, as a server
 * bound to a sandbox's loopback is refused at its veth address.
 */
async function startFakeAgent(address: string): Promise<{ connects: string[]; close(): Promise<void> }> {
  const connects: string[] = [];
  const server = http.createServer((_req, res) => res.writeHead(204).end());
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    connects.push(req.url ?? '');
    const port = parseLoopbackTarget(req.url);
    if (req.headers['proxy-authorization'] !== LoopbackForward.authorization(SECRET) || port === undefined) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    upstream.once('error', () => {
      const body = JSON.stringify({ code: 502, message: `nothing listens on port ${port}` });
      socket.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    });
    upstream.once('connect', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
      upstream.on('error', () => socket.destroy());
      socket.on('error', () => upstream.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ENVD_PORT, address, () => resolve());
  });
  return {
    connects,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** The "loopback-bound" sandbox server: `/bytes?n=`, `/echo`, and a raw upgrade that echoes and says `bye` on half-close. */
async function startLoopbackServer(): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/bytes') {
      const n = Number(url.searchParams.get('n'));
      const data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = i % 251;
      res.writeHead(200, { 'content-length': n, 'x-sha256': sha(data) }).end(data);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, host: req.headers.host }));
  });
  server.on('upgrade', (_req, socket: net.Socket, head: Buffer) => {
    socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: Upgrade\r\n\r\n');
    if (head.length > 0) socket.write(head);
    socket.pipe(socket, { end: false });
    socket.on('end', () => socket.end('bye'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as AddressInfo).port, server };
}

function record(sandboxId: string, address: string, loopbackSecret: string | undefined): SandboxRecord {
  return {
    sandboxId,
    templateId: 't',
    templateAlias: 'base',
    rootfsPath: '/nonexistent',
    metadata: {},
    envVars: {},
    accessToken: null,
    address,
    limits: { cpuCount: 1, memoryMB: 512, diskSizeMB: 512 } as SandboxRecord['limits'],
    egress: { allowInternetAccess: true, allowOut: [], denyOut: [] },
    ingress: { trafficAccessToken: null, maskRequestHost: null, ...(loopbackSecret ? { loopbackSecret } : {}) },
    startedAt: 0,
    endAt: Number.MAX_SAFE_INTEGER,
    state: 'running',
  };
}

describe('proxy: servers bound to the sandbox loopback', () => {
  const address = `127.${randomInt(64, 250)}.${randomInt(0, 256)}.${randomInt(2, 250)}`;
  const records = new Map<string, SandboxRecord>();
  let agent: Awaited<ReturnType<typeof startFakeAgent>>;
  let loopback: Awaited<ReturnType<typeof startLoopbackServer>>;
  let daemon: http.Server;
  let daemonPort = 0;
  const proxy = createSandboxProxy({
    domain: DOMAIN,
    logger: silentLogger,
    lookup: { find: (id) => records.get(id), running: () => [...records.values()] },
  });

  before(async () => {
    agent = await startFakeAgent(address);
    loopback = await startLoopbackServer();
    records.set('withsecret', record('withsecret', address, SECRET));
    records.set('nosecret', record('nosecret', address, undefined));
    records.set('wrongsecret', record('wrongsecret', address, 'not-the-secret'));
    daemon = http.createServer((req, res) => {
      const route = proxy.route(req);
      if (route.kind === 'rest') return void res.writeHead(404).end();
      proxy.handle(req, res, route);
    });
    daemon.on('upgrade', (req, socket, head) => proxy.upgrade(req, socket, head));
    await new Promise<void>((resolve) => daemon.listen(0, '127.0.0.1', () => resolve()));
    daemonPort = (daemon.address() as AddressInfo).port;
  });
  after(async () => {
    proxy.close();
    daemon.closeAllConnections();
    await new Promise<void>((resolve) => daemon.close(() => resolve()));
    loopback.server.closeAllConnections();
    loopback.server.close();
    await agent.close();
  });

  const host = (sandboxId: string, port: number): string => `${port}-${sandboxId}.${DOMAIN}`;

  function get(path: string, headers: Record<string, string>, httpAgent: http.Agent | false = false): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    return withTimeout(
      new Promise((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: daemonPort, path, headers, agent: httpAgent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      }),
      10_000,
      `GET ${path}`,
    );
  }

  it('dials directly when the port listens on the sandbox address (no CONNECT)', async () => {
    const direct = http.createServer((_req, res) => res.end('direct'));
    await new Promise<void>((resolve) => direct.listen(0, address, () => resolve()));
    try {
      const port = (direct.address() as AddressInfo).port;
      const before = agent.connects.length;
      const res = await get('/', { host: host('withsecret', port) });
      assert.equal(res.body.toString(), 'direct');
      assert.equal(agent.connects.length, before);
    } finally {
      direct.closeAllConnections();
      direct.close();
    }
  });

  it('retries a refused port over the agent and reuses the pooled tunnel for keep-alive requests', async () => {
    const before = agent.connects.length;
    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await get(`/echo?i=${i}`, { host: host('withsecret', loopback.port) }, keepAlive);
        assert.equal(res.status, 200, res.body.toString());
        assert.deepEqual(JSON.parse(res.body.toString()), { url: `/echo?i=${i}`, host: `${address}:${loopback.port}` });
      }
      const viaHeaders = await get('/echo', { 'e2b-sandbox-id': 'withsecret', 'e2b-sandbox-port': String(loopback.port) });
      assert.equal(viaHeaders.status, 200);
    } finally {
      keepAlive.destroy();
    }
    assert.deepEqual(agent.connects.slice(before), [LoopbackForward.target(loopback.port)], 'one tunnel, pooled');
  });

  it('streams a 8 MiB response intact through the tunnel', async () => {
    const res = await get(`/bytes?n=${8 * 2 ** 20}`, { host: host('withsecret', loopback.port) });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 8 * 2 ** 20);
    assert.equal(sha(res.body), res.headers['x-sha256']);
  });

  it('pipes an upgraded connection through the tunnel, half-close included', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: daemonPort, allowHalfOpen: true });
    const received = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let text = '';
        let upgraded = false;
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          text += chunk;
          if (!upgraded && text.includes('\r\n\r\n')) {
            upgraded = true;
            assert.match(text, /^HTTP\/1.1 101/);
            text = text.slice(text.indexOf('\r\n\r\n') + 4);
            socket.end('ping');
          }
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
        socket.write(`GET /ws HTTP/1.1\r\nhost: ${host('withsecret', loopback.port)}\r\nupgrade: echo\r\nconnection: Upgrade\r\n\r\n`);
      }),
      10_000,
      'upgrade exchange',
    );
    assert.equal(received, 'pingbye');
  });

  it('answers E2B’s port-not-open body when the agent finds nothing listening, the secret is wrong, or there is none', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    for (const sandboxId of ['withsecret', 'wrongsecret', 'nosecret']) {
      const res = await get('/', { host: host(sandboxId, port) });
      assert.equal(res.status, 502, sandboxId);
      assert.deepEqual(JSON.parse(res.body.toString()), { sandboxId, message: 'The sandbox is running but port is not open', port, code: 502 });
    }
  });

  it('never forwards the agent’s own ports nor a sandbox without a secret', async () => {
    const before = agent.connects.length;
    const refused = async (target: Parameters<typeof dialSandboxPort>[0]): Promise<string | undefined> => {
      try {
        (await dialSandboxPort(target)).destroy();
        return 'connected';
      } catch (error) {
        return (error as NodeJS.ErrnoException).code;
      }
    };
    assert.equal(await refused({ address, port: CODE_INTERPRETER_PORT, loopbackSecret: SECRET }), 'ECONNREFUSED');
    assert.equal(await refused({ address, port: loopback.port }), 'ECONNREFUSED');
    assert.equal(agent.connects.length, before);
    const error = await dialSandboxPort({ address, port: loopback.port, loopbackSecret: 'wrong' }).catch((e: unknown) => e);
    assert.ok(isSandboxdError(error) && error.code === ErrorCode.SANDBOX_UNREACHABLE, String(error));
    assert.match(String(error), /407/);
  });
});
