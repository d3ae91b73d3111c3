import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { createCodeSandbox, runCode } from './code-helpers.js';
import { CALL_MS, createSandbox, e2eTest, run } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sandbox: Sandbox;
const test = e2eTest(() => stack);

const LOOPBACK_PY = 8000;
const WILDCARD_PY = 8001;
const IPV6_PY = 8002;
const NODE_APP = 8003;
const NOTHING = 8009;
const BIG = 20 * 2 ** 20;

/**
 * A node stdlib server on 127.0.0.1: `GET /hello`, `POST /sha256` (digest and length of the
 * streamed body), `Upgrade: websocket` (RFC 6455 echo of text and binary messages, close
 * answered), `Upgrade: halfclose` (raw echo; on the client's half-close it writes `bye` and ends).
 */
const NODE_APP_JS = `
const http = require('http'), crypto = require('crypto');
const frame = (op, payload) => {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | op, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126) { head[0] = 0x80 | op; head[1] = n < 65536 ? 126 : 127; if (n < 65536) head.writeUInt16BE(n, 2); else head.writeBigUInt64BE(BigInt(n), 2); }
  return Buffer.concat([head, payload]);
};
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/sha256') {
    const hash = crypto.createHash('sha256'); let length = 0;
    req.on('data', (c) => { hash.update(c); length += c.length; });
    req.on('end', () => res.end(JSON.stringify({ sha256: hash.digest('hex'), length })));
    return;
  }
  res.end('hello from loopback');
});
server.on('upgrade', (req, socket, head) => {
  const kind = String(req.headers.upgrade).toLowerCase();
  if (kind === 'halfclose') {
    socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: halfclose\\r\\nConnection: Upgrade\\r\\n\\r\\n');
    if (head.length) socket.write(head);
    socket.pipe(socket, { end: false });
    socket.on('end', () => setTimeout(() => socket.end('bye'), 200));
    return;
  }
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
  let buf = head;
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 0x0f; let len = buf[1] & 0x7f; let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      const masked = (buf[1] & 0x80) !== 0; const mask = masked ? buf.subarray(off, off + 4) : null; if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (mask) for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + len);
      if (op === 8) { socket.end(frame(8, payload)); return; }
      socket.write(frame(op === 9 ? 10 : op, payload));
    }
  });
});
server.listen(Number(process.argv[2]), '127.0.0.1');
`;

/** A client frame (masked, as RFC 6455 requires of clients). */
function wsFrame(op: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.from([0x80 | op, 0x80 | n]) : Buffer.alloc(n < 65536 ? 4 : 10);
  if (n >= 126) {
    head[0] = 0x80 | op;
    head[1] = 0x80 | (n < 65536 ? 126 : 127);
    if (n < 65536) head.writeUInt16BE(n, 2);
    else head.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < n; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

/** Reads unmasked server frames from a stream of chunks. */
function wsReader(socket: net.Socket, initial: Buffer): () => Promise<{ op: number; payload: Buffer }> {
  let buf = initial;
  const waiters: Array<() => void> = [];
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    waiters.splice(0).forEach((w) => w());
  });
  const parse = (): { op: number; payload: Buffer } | undefined => {
    if (buf.length < 2) return undefined;
    let len = buf[1]! & 0x7f;
    let off = 2;
    if (len === 126) {
      if (buf.length < 4) return undefined;
      len = buf.readUInt16BE(2);
      off = 4;
    } else if (len === 127) {
      if (buf.length < 10) return undefined;
      len = Number(buf.readBigUInt64BE(2));
      off = 10;
    }
    if (buf.length < off + len) return undefined;
    const out = { op: buf[0]! & 0x0f, payload: Buffer.from(buf.subarray(off, off + len)) };
    buf = buf.subarray(off + len);
    return out;
  };
  return async () => {
    for (;;) {
      const frame = parse();
      if (frame) return frame;
      await withTimeout(new Promise<void>((resolve) => waiters.push(resolve)), CALL_MS, 'websocket frame');
    }
  };
}

/** Opens an upgraded connection through the daemon by Host; resolves after the 101 with the bytes that followed it. */
function upgradeThroughDaemon(port: number, extraHeaders: string): Promise<{ socket: net.Socket; head: Buffer; response: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: stack.port, allowHalfOpen: true });
      let buf = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        resolve({ socket, head: buf.subarray(end + 4), response: buf.subarray(0, end).toString() });
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.write(`GET /ws HTTP/1.1\r\nHost: ${sandbox.getHost(port)}\r\nConnection: Upgrade\r\n${extraHeaders}\r\n`);
    }),
    CALL_MS,
    `upgrade to port ${port}`,
  );
}

interface Reply {
  status: number;
  body: Buffer;
  localPort: number | undefined;
}

/** One request through the daemon's listener, routed by Host (`getHost`) or by E2B's headers. */
function call(port: number, path: string, opts: { byHeaders?: boolean; agent?: http.Agent; method?: string; body?: Buffer } = {}): Promise<Reply> {
  const headers: Record<string, string> = opts.byHeaders
    ? { 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': String(port) }
    : { Host: sandbox.getHost(port) };
  return withTimeout(
    new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: stack.port, path, method: opts.method ?? 'GET', headers, agent: opts.agent ?? false }, (res) => {
        const localPort = res.socket?.localPort;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), localPort }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(opts.body);
    }),
    CALL_MS,
    `${opts.method ?? 'GET'} ${path} on port ${port}`,
  );
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

before(async () => {
  stack = await startStack();
  sandbox = await createSandbox(stack);
  await run(sandbox, `mkdir -p /home/user/www && echo -n 'served on loopback' > /home/user/www/hello.txt && head -c ${BIG} /dev/urandom > /home/user/www/big.bin`);
  await withTimeout(sandbox.files.write('/home/user/app.js', NODE_APP_JS), CALL_MS, 'write node app');
  const background = { background: true as const, timeoutMs: 0, cwd: '/home/user/www' };
  await withTimeout(sandbox.commands.run(`python3 -m http.server --bind 127.0.0.1 ${LOOPBACK_PY}`, background), CALL_MS, 'start loopback server');
  await withTimeout(sandbox.commands.run(`python3 -m http.server --bind 0.0.0.0 ${WILDCARD_PY}`, background), CALL_MS, 'start 0.0.0.0 server');
  await withTimeout(sandbox.commands.run(`python3 -m http.server --bind ::1 ${IPV6_PY}`, background), CALL_MS, 'start ::1 server');
  await withTimeout(sandbox.commands.run(`node /home/user/app.js ${NODE_APP}`, background), CALL_MS, 'start node app');
  await run(
    sandbox,
    `for p in ${LOOPBACK_PY} ${WILDCARD_PY} ${NODE_APP}; do for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$p/ && break; sleep 0.1; done; done; ` +
      `for i in $(seq 100); do curl -s -o /dev/null 'http://[::1]:${IPV6_PY}/' && break; sleep 0.1; done`,
  );
});
after(async () => {
  await stack?.stop();
});

describe('loopback-bound servers through the proxy', () => {
  test('python3 -m http.server --bind 127.0.0.1 answers at getHost(8000) and by E2B headers; the 0.0.0.0 one keeps working', 120_000, async () => {
    const inside = await run(sandbox, `curl -s -o /dev/null -w '%{http_code}' http://$(hostname -i):${LOOPBACK_PY}/hello.txt || true`);
    assert.equal(inside.stdout, '000', 'precondition: the server is not reachable on the sandbox address');
    for (const byHeaders of [false, true]) {
      const res = await call(LOOPBACK_PY, '/hello.txt', { byHeaders });
      assert.equal(res.status, 200, res.body.toString());
      assert.equal(res.body.toString(), 'served on loopback');
      const wildcard = await call(WILDCARD_PY, '/hello.txt', { byHeaders });
      assert.equal(wildcard.status, 200, wildcard.body.toString());
      assert.equal(wildcard.body.toString(), 'served on loopback');
    }
  });

  test('a server bound to ::1 only is reachable too', 60_000, async () => {
    const res = await call(IPV6_PY, '/hello.txt');
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), 'served on loopback');
  });

  test('HTTP keep-alive: several requests on one client connection', 60_000, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const ports = new Set<number | undefined>();
      for (let i = 0; i < 5; i++) {
        const res = await call(LOOPBACK_PY, '/hello.txt', { agent });
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), 'served on loopback');
        ports.add(res.localPort);
      }
      assert.equal(ports.size, 1, 'one client connection served every request');
    } finally {
      agent.destroy();
    }
  });

  test('a 20 MB response streams intact, and so does a 20 MB request body', 180_000, async () => {
    const expected = (await run(sandbox, 'sha256sum /home/user/www/big.bin')).stdout.split(' ')[0];
    const res = await call(LOOPBACK_PY, '/big.bin');
    assert.equal(res.status, 200);
    assert.equal(res.body.length, BIG);
    assert.equal(sha256(res.body), expected);

    const upload = randomBytes(BIG);
    const posted = await call(NODE_APP, '/sha256', { method: 'POST', body: upload });
    assert.equal(posted.status, 200, posted.body.toString());
    assert.deepEqual(JSON.parse(posted.body.toString()), { sha256: sha256(upload), length: BIG });
  });

  test('a websocket echo server on 127.0.0.1 round-trips text and a 200 KB binary message', 60_000, async () => {
    const key = randomBytes(16).toString('base64');
    const { socket, head, response } = await upgradeThroughDaemon(NODE_APP, `Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n`);
    try {
      assert.match(response, /^HTTP\/1.1 101/);
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      assert.match(response, new RegExp(`sec-websocket-accept: ${accept.replace(/[+/]/g, '\\$&')}`, 'i'));
      const next = wsReader(socket, head);
      socket.write(wsFrame(1, Buffer.from('hello through the loopback')));
      assert.deepEqual(await next(), { op: 1, payload: Buffer.from('hello through the loopback') });
      const binary = randomBytes(200 * 1024);
      socket.write(wsFrame(2, binary));
      const echoed = await next();
      assert.equal(echoed.op, 2);
      assert.equal(sha256(echoed.payload), sha256(binary));
      socket.write(wsFrame(8, Buffer.from([0x03, 0xe8])));
      assert.equal((await next()).op, 8, 'close answered');
    } finally {
      socket.destroy();
    }
  });

  test('half-close passes: the server still answers after the client ended its side', 60_000, async () => {
    const { socket, head, response } = await upgradeThroughDaemon(NODE_APP, 'Upgrade: halfclose\r\n');
    assert.match(response, /^HTTP\/1.1 101/);
    const all = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let text = head.toString();
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => (text += c));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
        socket.end('ping');
      }),
      CALL_MS,
      'half-closed exchange',
    );
    socket.destroy();
    assert.equal(all, 'pingbye');
  });

  test('a port with nothing listening answers E2B’s port-not-open error quickly', 60_000, async () => {
    for (const byHeaders of [false, true]) {
      const started = Date.now();
      const res = await call(NOTHING, '/', { byHeaders });
      const ms = Date.now() - started;
      assert.equal(res.status, 502);
      assert.deepEqual(JSON.parse(res.body.toString()), {
        sandboxId: sandbox.sandboxId,
        message: 'The sandbox is running but port is not open',
        port: NOTHING,
        code: 502,
      });
      assert.ok(ms < 2_000, `took ${ms} ms`);
    }
  });

  test('a plain user inside cannot use the forwarding route; the secret is root-only and not in the API', 90_000, async () => {
    const agentJson = JSON.parse(readFileSync(join(stack.home, 'sandboxes', sandbox.sandboxId, 'run', 'agent.json'), 'utf8')) as {
      loopbackSecret?: string;
      accessToken?: string | null;
    };
    assert.equal(typeof agentJson.loopbackSecret, 'string', 'the daemon gave the agent a loopback secret');
    const secret = agentJson.loopbackSecret!;
    const token = agentJson.accessToken ?? '';
    // %{http_connect}: the status the agent answered to curl's CONNECT.
    const connect = async (proxy: string, header: string | undefined, user: 'user' | 'root' = 'user'): Promise<string> => {
      const extra = header === undefined ? '' : `--proxy-header '${header}'`;
      const res = await run(sandbox, `curl -s -o /dev/null -m 10 -w '%{http_connect}' -p -x ${proxy} ${extra} http://localhost:${LOOPBACK_PY}/hello.txt || true`, { user });
      return res.stdout.trim();
    };
    for (const proxy of ['http://127.0.0.1:49983', 'http://$(hostname -i):49983']) {
      assert.equal(await connect(proxy, undefined), '407', `${proxy}: no credentials`);
      assert.equal(await connect(proxy, `Proxy-Authorization: Bearer ${token}`), '407', `${proxy}: the envd access token as proxy credentials`);
      assert.equal(await connect(proxy, `X-Access-Token: ${token}`), '407', `${proxy}: the envd access token header`);
      assert.equal(await connect(proxy, 'Proxy-Authorization: Bearer guessed'), '407', `${proxy}: a guessed secret`);
    }
    const read = await run(sandbox, 'cat /run/sandboxd/agent.json >/dev/null 2>&1 && echo readable || echo denied');
    assert.equal(read.stdout.trim(), 'denied', 'agent.json is not readable by the plain user');
    // The route itself works with the secret (what root inside, who can read agent.json, could do anyway).
    assert.equal(await connect('http://127.0.0.1:49983', `Proxy-Authorization: Bearer ${secret}`, 'root'), '200');

    // Nor does a CONNECT sent to the daemon's listener reach the route: the daemon never tunnels for clients.
    for (const routing of [`Host: ${sandbox.getHost(49983)}`, `Host: 127.0.0.1\r\nE2b-Sandbox-Id: ${sandbox.sandboxId}\r\nE2b-Sandbox-Port: 49983`]) {
      const answer = await withTimeout(
        new Promise<string>((resolve) => {
          const socket = net.connect({ host: '127.0.0.1', port: stack.port });
          let text = '';
          socket.setEncoding('utf8');
          socket.on('data', (c: string) => (text += c));
          socket.on('close', () => resolve(text));
          socket.on('error', () => undefined);
          socket.write(`CONNECT localhost:${LOOPBACK_PY} HTTP/1.1\r\n${routing}\r\nProxy-Authorization: Bearer ${token}\r\n\r\n`);
        }),
        CALL_MS,
        'CONNECT to the daemon',
      );
      assert.doesNotMatch(answer, /^HTTP\/1\.1 200/, `the daemon tunnelled a client's CONNECT: ${answer.slice(0, 200)}`);
    }

    const info = await withTimeout(fetch(`${stack.apiUrl}/sandboxes/${sandbox.sandboxId}`, { headers: { 'X-API-KEY': stack.apiKey } }), CALL_MS, 'GET sandbox');
    const text = await info.text();
    assert.equal(info.status, 200, text);
    assert.ok(!text.includes(secret), 'the loopback secret is not in the REST API');
  });
});

describe('loopback forwarding and the agent’s own ports', () => {
  test('the code interpreter’s kernel ports on 127.0.0.1 are never forwarded', 240_000, async () => {
    const code = await createCodeSandbox(stack);
    try {
      // The JavaScript kernel talks ZeroMQ over TCP on 127.0.0.1 (python and bash use Unix sockets).
      const execution = await runCode(code, '1 + 1', { language: 'js' });
      assert.equal(execution.text, '2', JSON.stringify(execution.error));
      const listing = await withTimeout(code.commands.run(`ss -Hltn | awk '$4 ~ /^127\\.0\\.0\\.1:/ { sub(/.*:/, "", $4); print $4 }'`), CALL_MS, 'ss');
      const ports = listing.stdout.trim().split('\n').filter(Boolean).map(Number);
      assert.ok(ports.length >= 5, `the kernel's ZeroMQ ports listen on 127.0.0.1: ${listing.stdout}`);
      const secret = (JSON.parse(readFileSync(join(stack.home, 'sandboxes', code.sandboxId, 'run', 'agent.json'), 'utf8')) as { loopbackSecret: string }).loopbackSecret;
      for (const port of ports) {
        const res = await withTimeout(
          code.commands.run(
            `curl -s -o /dev/null -m 10 -w '%{http_connect}' -p -x http://127.0.0.1:49983 --proxy-header 'Proxy-Authorization: Bearer ${secret}' http://localhost:${port}/ || true`,
            { user: 'root' },
          ),
          CALL_MS,
          `CONNECT to kernel port ${port}`,
        );
        assert.equal(res.stdout.trim(), '403', `kernel port ${port} is refused even with the daemon secret`);
        const proxied = await withTimeout(
          fetch(`${stack.sandboxUrl}/`, { headers: { 'E2b-Sandbox-Id': code.sandboxId, 'E2b-Sandbox-Port': String(port) } }),
          CALL_MS,
          `GET kernel port ${port}`,
        );
        assert.equal(proxied.status, 502, `kernel port ${port} through the proxy`);
        assert.equal(((await proxied.json()) as { message?: string }).message, 'The sandbox is running but port is not open');
      }
    } finally {
      await withTimeout(code.kill(), CALL_MS, 'kill code sandbox').catch(() => undefined);
    }
  });
});

describe('loopback forwarding and the other sandboxes', () => {
  test('another sandbox can reach neither the route nor the loopback server', 240_000, async () => {
    const other = await createSandbox(stack);
    try {
      const address = (await run(sandbox, 'hostname -i')).stdout.trim();
      const res = await run(
        other,
        `curl -s -o /dev/null -m 5 -w '%{http_connect}' -p -x http://${address}:49983 http://localhost:${LOOPBACK_PY}/ ; echo " exit=$?"`,
      );
      assert.match(res.stdout.trim(), /^000 exit=(7|28|56)$/, `another sandbox reached the agent route: ${res.stdout}`);
      const direct = await run(other, `curl -s -o /dev/null -m 5 -w '%{http_code}' http://${address}:${WILDCARD_PY}/ ; echo " exit=$?"`);
      assert.match(direct.stdout.trim(), /^000 exit=(7|28)$/, `another sandbox reached a port: ${direct.stdout}`);
    } finally {
      await withTimeout(other.kill(), CALL_MS, 'kill other sandbox').catch(() => undefined);
    }
  });
});

describe('loopback forwarding across a daemon restart', () => {
  test('an adopted sandbox’s loopback server stays reachable after the daemon crashed and restarted', 120_000, async () => {
    await stack.crash();
    await stack.restart();
    const res = await call(LOOPBACK_PY, '/hello.txt');
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), 'served on loopback');
  });
});
