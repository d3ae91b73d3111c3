import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localApiUrl, mcpRoute } from './route.js';

const ctx = (localAddress?: string, localPort?: number) => ({
  req: { raw: new Request('http://evil.example/mcp', { method: 'POST' }) },
  env: { incoming: { socket: { localAddress, localPort } } },
});

describe('MCP route', () => {
  it("reaches the daemon at the connection's local address, never at the Host header", () => {
    assert.equal(localApiUrl(ctx('127.0.0.1', 3000)), 'http://127.0.0.1:3000');
    assert.equal(localApiUrl(ctx('::ffff:10.1.2.3', 3100)), 'http://10.1.2.3:3100');
    assert.equal(localApiUrl(ctx('::1', 3100)), 'http://[::1]:3100');
    assert.throws(() => localApiUrl({ req: ctx().req, env: undefined }), /Node HTTP connection/);
  });

  it('answers 401 before it needs the daemon address', async () => {
    const route = mcpRoute({ verifyApiKey: () => false });
    const res = await route({ req: ctx().req, env: undefined });
    assert.equal(res.status, 401);
    await route.handler.close();
  });
});
