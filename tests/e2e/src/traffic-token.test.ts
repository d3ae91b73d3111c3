import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe } from 'node:test';
import { Sandbox } from 'e2b';
import { CALL_MS, createSandbox, e2eTest, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let secured: Sandbox;
const test = e2eTest(() => stack);
const PORT = 8000;

/** Answers every GET with the Host header and the traffic-token header it received, as JSON. */
const HOST_ECHO = `
import http.server, json, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_GET(self):
        body = json.dumps({'host': self.headers.get('Host'), 'token': self.headers.get('e2b-traffic-access-token')}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('0.0.0.0', int(sys.argv[1])), H).serve_forever()
`;

function get(headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: stack.port, path: '/', headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    CALL_MS,
    'GET through the proxy',
  );
}

before(async () => {
  stack = await startStack();
  secured = await createSandbox(stack, { network: { allowPublicTraffic: false, maskRequestHost: 'app-${PORT}.example.test' } });
  await withTimeout(secured.files.write('/home/user/echo.py', HOST_ECHO), CALL_MS, 'write echo server');
  await withTimeout(secured.commands.run(`python3 /home/user/echo.py ${PORT}`, { background: true, timeoutMs: 0 }), CALL_MS, 'start echo server');
});

after(async () => {
  await secured?.kill().catch(() => undefined);
  await stack?.stop();
});

describe('allowPublicTraffic: false and maskRequestHost', () => {
  test('create returns a traffic access token; the sandbox ports need it, envd does not', 120_000, async () => {
    const token = secured.trafficAccessToken;
    assert.ok(token && token.length >= 16, `trafficAccessToken: ${String(token)}`);
    const host = secured.getHost(PORT);
    await waitFor(async () => (await get({ Host: host, 'e2b-traffic-access-token': token }).catch(() => undefined))?.status === 200, 30_000, 'echo server answers');

    const missing = await get({ Host: host });
    assert.equal(missing.status, 403);
    assert.deepEqual(JSON.parse(missing.text), {
      sandboxId: secured.sandboxId,
      message: "Sandbox is secured with traffic access token. Token header 'e2b-traffic-access-token' is missing",
      code: 403,
    });
    const wrong = await get({ Host: host, 'e2b-traffic-access-token': `${token}x` });
    assert.equal(wrong.status, 403);
    assert.match(JSON.parse(wrong.text).message, /is invalid/);
    const byHeaders = await get({ 'E2b-Sandbox-Id': secured.sandboxId, 'E2b-Sandbox-Port': String(PORT) });
    assert.equal(byHeaders.status, 403, 'routing by headers needs the token too');

    const ok = await get({ Host: host, 'e2b-traffic-access-token': token });
    assert.equal(ok.status, 200);
    const seen = JSON.parse(ok.text) as { host: string; token: string | null };
    assert.equal(seen.host, `app-${PORT}.example.test`, 'maskRequestHost, ${PORT} replaced, is the Host the sandbox sees');
    assert.equal(seen.token, null, 'the token is not passed on to the sandbox');

    // envd keeps its own access token: the SDK's calls work without the traffic token.
    assert.equal((await secured.commands.run('echo envd-ok')).stdout.trim(), 'envd-ok');
    const info = await Sandbox.getInfo(secured.sandboxId, { ...stack.sdk });
    assert.equal((info as unknown as { network?: { allowPublicTraffic?: boolean } }).network?.allowPublicTraffic, false);
  });

  test('a sandbox with public traffic needs no token', 120_000, async () => {
    const open = await createSandbox(stack);
    try {
      assert.equal(open.trafficAccessToken, undefined);
      await withTimeout(open.files.write('/home/user/echo.py', HOST_ECHO), CALL_MS, 'write echo server');
      await withTimeout(open.commands.run(`python3 /home/user/echo.py ${PORT}`, { background: true, timeoutMs: 0 }), CALL_MS, 'start echo server');
      await waitFor(async () => (await get({ Host: open.getHost(PORT) }).catch(() => undefined))?.status === 200, 30_000, 'public echo server answers');
    } finally {
      await open.kill().catch(() => undefined);
    }
  });
});
