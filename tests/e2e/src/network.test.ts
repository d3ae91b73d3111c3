import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, httpGetWithHost, rawFetch, run, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

/** A shell command printing only the HTTP status curl got (`000` when there was no HTTP answer). */
const httpCode = (url: string, maxTimeSec = 8): string =>
  `curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time ${maxTimeSec} '${url}' || true`;

/** The only external address reachable in the test environment. */
const DEBIAN = 'http://deb.debian.org/debian/';

async function gatewayOf(sbx: Sandbox): Promise<string> {
  const route = (await run(sbx, 'ip -4 route show default')).stdout;
  const gateway = /via (\d+\.\d+\.\d+\.\d+)/.exec(route)?.[1];
  assert.ok(gateway, `no default gateway in ${JSON.stringify(route)}`);
  return gateway;
}

async function ipv4Of(sbx: Sandbox): Promise<string> {
  const out = (await run(sbx, 'hostname -I')).stdout.trim();
  const ip = out.split(/\s+/).find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.'));
  assert.ok(ip, `no IPv4 address in ${JSON.stringify(out)}`);
  return ip;
}

/** Starts `python3 -m http.server <port>` serving `dir` in the background and waits until it answers inside. */
async function serveHttp(sbx: Sandbox, port: number, dir: string): Promise<void> {
  await withTimeout(sbx.commands.run(`python3 -m http.server ${port} --bind 0.0.0.0`, { background: true, cwd: dir }), CALL_MS, 'start http.server');
  await waitFor(async () => (await run(sbx, httpCode(`http://127.0.0.1:${port}/`, 3))).stdout === '200', 30_000, `http.server on ${port} answers inside`);
}

describe('internet access', () => {
  test('internet access is on by default (deb.debian.org answers 200)', 120_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'network', run: RUN_ID } }),
      async (sbx) => {
        assert.equal((await run(sbx, httpCode(DEBIAN, 25))).stdout, '200');
      },
    );
  });

  test('allowInternetAccess: false blocks the same request and getInfo says so', 120_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'network', run: RUN_ID }, allowInternetAccess: false }),
      async (sbx) => {
        assert.equal((await run(sbx, httpCode(DEBIAN, 10))).stdout, '000');
        const info = await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo');
        assert.equal(info.allowInternetAccess, false);
        assert.equal((await run(sbx, 'echo still-usable')).stdout, 'still-usable\n');
      },
    );
  });
  test('allowOut takes precedence over denyOut: denyOut 0.0.0.0/0 + allowOut <deb.debian.org> reaches only that', 180_000, async () => {
    const { lookup } = await import('node:dns/promises');
    const ips = (await lookup('deb.debian.org', { all: true, family: 4 })).map((a) => a.address);
    assert.ok(ips.length > 0, 'deb.debian.org has no IPv4 address on the host');
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'network', run: RUN_ID }, network: { denyOut: ['0.0.0.0/0'], allowOut: ips } }),
      async (sbx) => {
        const pinned = `curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 25 --resolve deb.debian.org:80:${ips[0]} '${DEBIAN}' || true`;
        assert.equal((await run(sbx, pinned)).stdout, '200');
        // Any other address is denied by denyOut (TEST-NET-2; the attempt never leaves the machine).
        // Not registry.npmjs.org: here it resolves to the same intercepting proxy as deb.debian.org.
        assert.equal((await run(sbx, httpCode('http://198.51.100.7/', 10))).stdout, '000');
      },
    );
  });
  test('domain entries in allowOut: Host on port 80 and TLS server name on 443 decide, other names and ports stay denied', 240_000, async () => {
    const { lookup } = await import('node:dns/promises');
    const debianIp = (await lookup('deb.debian.org', { family: 4 })).address;
    await withSandbox(
      () =>
        createSandbox(stack, {
          metadata: { suite: 'network', run: RUN_ID },
          network: { denyOut: ['0.0.0.0/0'], allowOut: ['deb.debian.org', '*.npmjs.org'] },
        }),
      async (sbx) => {
        const code = async (args: string): Promise<string> =>
          (await run(sbx, `curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 25 ${args} || true`, {}, 60_000)).stdout;
        assert.equal(await code(`'${DEBIAN}'`), '200', 'an allowed name over HTTP');
        assert.notEqual(await code(`-k 'https://registry.npmjs.org/'`), '000', 'a name under an allowed wildcard over HTTPS');
        assert.notEqual(await code(`-k 'https://deb.debian.org/debian/'`), '000', 'an allowed name over HTTPS');
        assert.equal(await code(`-H 'Host: not-allowed.example' '${DEBIAN}'`), '000', 'another Host header to the same address');
        assert.equal(await code(`-k --resolve not-allowed.example:443:${debianIp} 'https://not-allowed.example/'`), '000', 'another server name');
        assert.equal(await code(`-k --resolve npmjs.org:443:${debianIp} 'https://npmjs.org/'`), '000', 'a wildcard is for subdomains only');
        assert.equal(await code(`'http://deb.debian.org:8080/'`), '000', 'other ports are not matched by name');
        // Taking the name away closes it for new connections.
        await withTimeout(sbx.updateNetwork({ denyOut: ['0.0.0.0/0'] }), CALL_MS, 'updateNetwork');
        assert.equal(await code(`'${DEBIAN}'`), '000', 'after the update');
      },
    );
  });

  test('domain entries in denyOut are refused with a clear 400', 60_000, async () => {
    await assert.rejects(
      createSandbox(stack, { metadata: { suite: 'network', run: RUN_ID }, network: { denyOut: ['*.example.com'] } }),
      /domain entries \(\*\.example\.com\) are only allowed in allowOut/,
    );
  });
});

describe('isolation', () => {
  let a: Sandbox;
  let b: Sandbox;
  let hostServer: Server;
  let hostPort = 0;
  let hostConnections = 0;
  const hostSockets = new Set<Socket>();

  before(async () => {
    a = await createSandbox(stack, { metadata: { suite: 'network', run: RUN_ID, role: 'a' } });
    b = await createSandbox(stack, { metadata: { suite: 'network', run: RUN_ID, role: 'b' } });
    hostServer = createServer((socket) => {
      hostConnections += 1;
      hostSockets.add(socket);
      socket.on('close', () => hostSockets.delete(socket));
      socket.on('error', () => undefined);
      console.error(`[e2e] host test server: connection from ${socket.remoteAddress}:${socket.remotePort}`);
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nhost');
    });
    await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
    const address = hostServer.address();
    hostPort = typeof address === 'object' && address ? address.port : 0;
  });
  after(async () => {
    console.error(`[e2e] isolation sandboxes: a=${a?.sandboxId} b=${b?.sandboxId}`);
    for (const socket of hostSockets) {
      console.error(`[e2e] host test server: connection from ${socket.remoteAddress} still open at the end`);
      socket.destroy();
    }
    await withTimeout(new Promise((resolve) => hostServer?.close(resolve)), 10_000, 'close the host test server').catch((err: unknown) => console.error(String(err)));
  });

  test('a sandbox cannot reach the daemon API on its gateway nor on its own loopback', 120_000, async () => {
    const gateway = await gatewayOf(a);
    assert.equal((await run(a, httpCode(`http://${gateway}:${stack.port}/v2/sandboxes`))).stdout, '000', `daemon reachable via gateway ${gateway}`);
    assert.equal((await run(a, httpCode(`http://127.0.0.1:${stack.port}/v2/sandboxes`))).stdout, '000', 'daemon reachable via 127.0.0.1');
  });

  test('a sandbox cannot reach a service listening on all host addresses', 180_000, async () => {
    const control = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const socket = createConnection({ host: '127.0.0.1', port: hostPort }, () => socket.write('GET / HTTP/1.0\r\n\r\n'));
        let data = '';
        socket.on('data', (chunk) => (data += chunk.toString()));
        socket.on('end', () => {
          socket.destroy();
          resolve(data);
        });
        socket.on('error', reject);
      }),
      10_000,
      'host control connection',
    );
    assert.match(control, /host$/, 'the host test server must answer locally');
    const seenBefore = hostConnections;
    const hostAddresses = Object.values(networkInterfaces())
      .flatMap((list) => list ?? [])
      .filter((i) => i.family === 'IPv4' && !i.internal)
      .map((i) => i.address);
    const targets = [...new Set([await gatewayOf(a), ...hostAddresses])];
    for (const host of targets) {
      assert.equal((await run(a, httpCode(`http://${host}:${hostPort}/`, 6), {}, 30_000)).stdout, '000', `host service reachable via ${host}:${hostPort}`);
    }
    assert.equal(hostConnections, seenBefore, `the host server saw ${hostConnections - seenBefore} connections from the sandbox`);
  });

  test('a sandbox cannot reach another sandbox, which can reach its own service', 180_000, async () => {
    const ipB = await ipv4Of(b);
    await withTimeout(b.files.write('/home/user/www-b/index.html', 'b-service'), CALL_MS, 'write index');
    await serveHttp(b, 8000, '/home/user/www-b');
    assert.equal((await run(b, httpCode(`http://${ipB}:8000/`))).stdout, '200', 'b reaches its own service on its own address');
    assert.equal((await run(a, httpCode(`http://${ipB}:8000/`))).stdout, '000', `a reaches b's service at ${ipB}:8000`);
    assert.equal((await run(a, httpCode(`http://${ipB}:49983/health`))).stdout, '000', `a reaches b's agent at ${ipB}:49983`);
  });
});

describe('port access through the daemon', () => {
  test('a sandbox port is reachable through the daemon by E2b-Sandbox-Id/Port headers and by Host <port>-<id>.<domain>', 180_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'network', run: RUN_ID } }),
      async (sbx) => {
        await withTimeout(sbx.files.write('/home/user/www/hello.txt', 'served from the sandbox'), CALL_MS, 'write');
        await serveHttp(sbx, 8000, '/home/user/www');

        const byHeaders = await rawFetch(`${stack.sandboxUrl}/hello.txt`, {
          headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8000' },
        });
        assert.equal(byHeaders.status, 200, byHeaders.text);
        assert.equal(byHeaders.text, 'served from the sandbox');

        const host = sbx.getHost(8000);
        assert.equal(host, `8000-${sbx.sandboxId}.${stack.sdk.domain}`);
        const byHost = await httpGetWithHost(stack.port, '/hello.txt', host);
        assert.equal(byHost.status, 200, byHost.body);
        assert.equal(byHost.body, 'served from the sandbox');

        const closed = await rawFetch(`${stack.sandboxUrl}/`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8001' } });
        assert.equal(closed.status, 502, `a port nobody listens on: ${closed.status} ${closed.text}`);
      },
    );
  });

  test('requests for an unknown sandbox get 502 with the E2B "sandbox not found" body', 30_000, async () => {
    const res = await rawFetch(`${stack.sandboxUrl}/health`, { headers: { 'E2b-Sandbox-Id': 'unknownsandbox000000', 'E2b-Sandbox-Port': '49983' } });
    assert.equal(res.status, 502);
    const body = res.json as { sandboxId?: unknown; code?: unknown; message?: unknown };
    assert.equal(body.sandboxId, 'unknownsandbox000000');
    assert.equal(body.code, 502);
    assert.equal(typeof body.message, 'string');
  });
});
