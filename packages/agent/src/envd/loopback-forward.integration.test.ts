import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ENVD_PORT, LoopbackForward } from '@sandboxd/protocol';
import { withTimeout } from '@sandboxd/testing';
import { holdAgentPorts } from '../lib/agent-ports.js';
import { silentLogger } from '../logger.js';
import { createLoopbackForwarder, type LoopbackForwarder } from './loopback-forward.js';

const SECRET = 'the-daemon-secret';

interface Agent {
  port: number;
  forwarder: LoopbackForwarder;
  close(): Promise<void>;
}

async function listen(server: net.Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function startAgent(secret: string | undefined): Promise<Agent> {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const forwarder = createLoopbackForwarder({ secret, logger: silentLogger, connectTimeoutMs: 2_000 });
  server.on('connect', forwarder.onConnect);
  const port = await listen(server, '127.0.0.1');
  return {
    port,
    forwarder,
    close: () => {
      forwarder.closeAll();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echoes every byte; when the client half-closes, writes `bye` and ends its side too. */
async function startEcho(host: string): Promise<{ port: number; server: net.Server }> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.pipe(socket, { end: false });
    socket.on('end', () => socket.end('bye'));
  });
  return { port: await listen(server, host), server };
}

type Outcome = { ok: true; socket: net.Socket } | { ok: false; status: number; body: string };

function connectThrough(agentPort: number, target: string, headers: Record<string, string>): Promise<Outcome> {
  return withTimeout(
    new Promise<Outcome>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: agentPort, method: 'CONNECT', path: target, headers, agent: false });
      req.on('connect', (res, socket, head) => {
        if (res.statusCode === 200) {
          if (head.length > 0) socket.unshift(head);
          resolve({ ok: true, socket });
        } else {
          resolve({ ok: false, status: res.statusCode ?? 0, body: head.toString() });
          socket.destroy();
        }
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ ok: false, status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    }),
    5_000,
    `CONNECT ${target}`,
  );
}

const auth = { 'proxy-authorization': LoopbackForward.authorization(SECRET) };

/** Writes `data`, half-closes, and collects everything until the far end closes. */
function exchange(socket: net.Socket, data: Buffer): Promise<Buffer> {
  return withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks)));
      socket.on('error', reject);
      socket.end(data);
    }),
    10_000,
    'exchange',
  );
}

describe('loopback forward (CONNECT on envd)', () => {
  let agent: Agent;
  let echo4: { port: number; server: net.Server };
  let echo6: { port: number; server: net.Server };
  before(async () => {
    agent = await startAgent(SECRET);
    echo4 = await startEcho('127.0.0.1');
    echo6 = await startEcho('::1');
  });
  after(async () => {
    await agent.close();
    echo4.server.close();
    echo6.server.close();
  });

  it('opens a stream to a server on 127.0.0.1; half-close passes both ways', async () => {
    const out = await connectThrough(agent.port, LoopbackForward.target(echo4.port), auth);
    assert.ok(out.ok, JSON.stringify(out));
    const got = await exchange(out.socket, Buffer.from('ping'));
    assert.equal(got.toString(), 'pingbye');
  });

  it('reaches a server bound to ::1 only', async () => {
    const out = await connectThrough(agent.port, LoopbackForward.target(echo6.port), auth);
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal((await exchange(out.socket, Buffer.from('six'))).toString(), 'sixbye');
  });

  it('streams 16 MiB intact in both directions', async () => {
    const out = await connectThrough(agent.port, LoopbackForward.target(echo4.port), auth);
    assert.ok(out.ok);
    const data = randomBytes(16 * 2 ** 20);
    const got = await exchange(out.socket, data);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.equal(got.length, data.length + 3);
    assert.equal(sha(got.subarray(0, data.length)), sha(data));
  });

  it('refuses requests without the daemon secret (407), whatever else they carry', async () => {
    const variants: Record<string, string>[] = [{}, { 'proxy-authorization': 'Bearer wrong' }, { 'proxy-authorization': SECRET }, { 'x-access-token': SECRET }, { authorization: `Bearer ${SECRET}` }];
    for (const headers of variants) {
      const out = await connectThrough(agent.port, LoopbackForward.target(echo4.port), headers);
      assert.equal(out.ok, false);
      assert.equal(out.ok === false && out.status, 407, JSON.stringify(headers));
    }
  });

  it('answers 400 for a target other than localhost:<port> and 403 for the agent’s own ports', async () => {
    for (const target of [`127.0.0.1:${echo4.port}`, `10.0.0.1:${echo4.port}`, 'example.com:443', 'localhost:0']) {
      const out = await connectThrough(agent.port, target, auth);
      assert.equal(out.ok === false && out.status, 400, target);
    }
    for (const port of LoopbackForward.excludedPorts) {
      const out = await connectThrough(agent.port, LoopbackForward.target(port), auth);
      assert.equal(out.ok === false && out.status, 403, String(port));
    }
    assert.ok(LoopbackForward.excludedPorts.includes(ENVD_PORT));
  });

  it('answers 403 for a port one of the agent’s components holds (kernel ports), until released', async () => {
    const release = holdAgentPorts([echo4.port]);
    try {
      const out = await connectThrough(agent.port, LoopbackForward.target(echo4.port), auth);
      assert.equal(out.ok === false && out.status, 403);
    } finally {
      release();
    }
    const out = await connectThrough(agent.port, LoopbackForward.target(echo4.port), auth);
    assert.ok(out.ok);
    out.socket.destroy();
  });

  it('answers 502 quickly when nothing listens on either loopback address', async () => {
    const idle = net.createServer();
    const port = await listen(idle, '127.0.0.1');
    await new Promise<void>((resolve) => idle.close(() => resolve()));
    const started = Date.now();
    const out = await connectThrough(agent.port, LoopbackForward.target(port), auth);
    assert.equal(out.ok === false && out.status, 502);
    assert.match(out.ok === false ? out.body : '', /nothing listens/);
    assert.ok(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
  });

  it('closeAll ends open tunnels', async () => {
    const out = await connectThrough(agent.port, LoopbackForward.target(echo4.port), auth);
    assert.ok(out.ok);
    assert.equal(agent.forwarder.open, 1);
    const closed = new Promise<void>((resolve) => out.socket.once('close', () => resolve()));
    out.socket.on('error', () => undefined);
    agent.forwarder.closeAll();
    await withTimeout(closed, 5_000, 'tunnel closed');
    assert.equal(agent.forwarder.open, 0);
  });
});

describe('loopback forward without a secret', () => {
  it('is off: every CONNECT gets 404', async () => {
    const agent = await startAgent(undefined);
    try {
      const out = await connectThrough(agent.port, LoopbackForward.target(8000), auth);
      assert.equal(out.ok === false && out.status, 404);
    } finally {
      await agent.close();
    }
  });
});
