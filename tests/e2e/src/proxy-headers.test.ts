import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { CALL_MS, createSandbox, e2eTest, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sandbox: Sandbox;
const test = e2eTest(() => stack);
const PORT = 8000;

/**
 * Echoes the request headers it received as JSON (at `/names`: their names as written on the wire)
 * and sets every `cookie` query value as a Set-Cookie.
 */
const ECHO_SERVER = `
import http.server, json, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        if self.path.startswith('/names'):
            body = json.dumps({'names': ' '.join(self.headers.keys())}).encode()
        else:
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        for cookie in query.get('cookie', []):
            self.send_header('Set-Cookie', cookie)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('0.0.0.0', int(sys.argv[1])), H).serve_forever()
`;

interface Exchange {
  status: number;
  setCookies: string[];
  received: Record<string, string>;
}

/** GET through the daemon's listener with the given headers (Host included: fetch cannot set it). */
function get(path: string, headers: Record<string, string>): Promise<Exchange> {
  return withTimeout(
    new Promise<Exchange>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: stack.port, path, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, setCookies: res.headers['set-cookie'] ?? [], received: JSON.parse(text) as Record<string, string> });
          } catch (err) {
            reject(new Error(`HTTP ${res.statusCode}, not JSON: ${text.slice(0, 300)} (${String(err)})`));
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    CALL_MS,
    `GET ${path}`,
  );
}

before(async () => {
  stack = await startStack();
  sandbox = await createSandbox(stack);
  await withTimeout(sandbox.files.write('/home/user/echo.py', ECHO_SERVER), CALL_MS, 'write echo server');
  await withTimeout(sandbox.commands.run(`python3 /home/user/echo.py ${PORT}`, { background: true, timeoutMs: 0 }), CALL_MS, 'start echo server');
  await waitFor(async () => (await get('/', { Host: sandbox.getHost(PORT) }).catch(() => undefined))?.status === 200, 30_000, 'echo server answers through the proxy');
});
after(async () => {
  await stack?.stop();
});

describe('proxy: headers between clients and sandbox ports', () => {
  test('the daemon API key never reaches the sandbox; the sandbox’s own headers do', 60_000, async () => {
    const headers = { 'X-API-KEY': stack.apiKey, Authorization: 'Bearer app-token', 'X-Custom': 'kept', Cookie: 'app=1' };
    const viaHost = await get('/', { Host: sandbox.getHost(PORT), ...headers });
    const viaHeaders = await get('/', { 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': String(PORT), ...headers });
    for (const { received } of [viaHost, viaHeaders]) {
      assert.equal(received['x-api-key'], undefined, `X-API-KEY forwarded: ${JSON.stringify(received)}`);
      assert.equal(received['authorization'], 'Bearer app-token');
      assert.equal(received['x-custom'], 'kept');
      assert.equal(received['cookie'], 'app=1');
    }
    assert.match(viaHost.received['host'] ?? '', new RegExp(`^10\\.\\d+\\.\\d+\\.\\d+:${PORT}$`), 'upstream Host is the sandbox address');
  });

  // E2B's proxy (Go) writes header names in their canonical form; E2B's maskRequestHost test reads
  // `Host:` from what a Python server in the sandbox received.
  test('header names reach the sandbox port in canonical form (Host, X-Lower-Case), as from E2B’s proxy', 60_000, async () => {
    const routes: Record<string, string>[] = [{ host: sandbox.getHost(PORT) }, { 'e2b-sandbox-id': sandbox.sandboxId, 'e2b-sandbox-port': String(PORT) }];
    for (const route of routes) {
      const { received } = await get('/names', { ...route, 'x-lower-case': 'v', 'X-UPPER-CASE': 'w' });
      const names = (received['names'] ?? '').split(' ');
      for (const name of ['Host', 'X-Lower-Case', 'X-Upper-Case']) assert.ok(names.includes(name), `${name} in ${JSON.stringify(names)}`);
      assert.ok(!names.includes('host'), `lower-case host in ${JSON.stringify(names)}`);
    }
  });

  test('Set-Cookie wider than <port>-<id>.<domain> is dropped, host-only and own-host cookies pass', 60_000, async () => {
    const own = sandbox.getHost(PORT);
    const domain = stack.sdk.domain;
    const wide = [
      `wide1=1; Domain=${domain}`,
      `wide2=1; Domain=.${domain}; Path=/`,
      `wide3=1; Domain=${domain.split('.').pop()!}`,
      `wide4=1; Domain=${sandbox.sandboxId}.${domain}`,
      `wide5=1; Domain=${PORT + 1}-${sandbox.sandboxId}.${domain}`,
      'wide6=1; Domain=127.0.0.1',
      `wide7=1; Domain=${own}; Domain=${domain}`,
    ];
    const allowed = ['plain=1; Path=/; HttpOnly', `mine=1; Domain=${own}`, `dotted=1; domain=.${own.toUpperCase()}`];
    const query = [...wide, ...allowed].map((c) => `cookie=${encodeURIComponent(c)}`).join('&');
    const routes: Record<string, string>[] = [{ Host: own }, { 'E2b-Sandbox-Id': sandbox.sandboxId, 'E2b-Sandbox-Port': String(PORT) }];
    for (const headers of routes) {
      const res = await get(`/?${query}`, headers);
      assert.equal(res.status, 200);
      assert.deepEqual(res.setCookies, allowed, `Set-Cookie through ${JSON.stringify(headers)}`);
    }
  });
});
