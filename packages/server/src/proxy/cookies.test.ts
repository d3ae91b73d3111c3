import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cookieAllowed, cookieDomains } from './cookies.js';
import { responseHeaders } from './node-proxy.js';

const HOST = '8000-iabc.sandboxd.test';

describe('Set-Cookie scoping', () => {
  it('reads Domain attributes case-insensitively, without the leading dot', () => {
    assert.deepEqual(cookieDomains('a=1; Path=/; DOMAIN=.Sandboxd.Test; domain=x'), ['sandboxd.test', 'x']);
    assert.deepEqual(cookieDomains('a=b=c; HttpOnly'), []);
    // a "domain=" inside the value is not an attribute
    assert.deepEqual(cookieDomains('q=domain=sandboxd.test'), []);
  });

  it('allows host-only cookies and Domain equal to the sandbox host only', () => {
    assert.equal(cookieAllowed('a=1; Path=/', HOST), true);
    assert.equal(cookieAllowed(`a=1; Domain=${HOST}`, HOST), true);
    assert.equal(cookieAllowed(`a=1; Domain=.${HOST.toUpperCase()}`, HOST), true);
    assert.equal(cookieAllowed('a=1; Domain=', HOST), true);
    for (const wide of ['sandboxd.test', '.sandboxd.test', 'test', 'iabc.sandboxd.test', '8001-iabc.sandboxd.test', '127.0.0.1', 'evil.example']) {
      assert.equal(cookieAllowed(`a=1; Domain=${wide}`, HOST), false, wide);
    }
    // any wide Domain among several drops the cookie
    assert.equal(cookieAllowed(`a=1; Domain=${HOST}; Domain=sandboxd.test`, HOST), false);
  });

  it('drops only the wide cookies from forwarded headers, and hop-by-hop headers', () => {
    const target = { sandboxId: 'iabc', address: '10.0.0.2', port: 8000, host: HOST };
    const raw = ['Set-Cookie', 'ok=1', 'Set-Cookie', 'bad=1; Domain=sandboxd.test', 'Connection', 'keep-alive', 'X-Y', 'z', 'set-cookie', `mine=1; domain=${HOST}`];
    assert.deepEqual(responseHeaders(raw, target), { headers: ['Set-Cookie', 'ok=1', 'X-Y', 'z', 'set-cookie', `mine=1; domain=${HOST}`], droppedCookies: 1 });
    assert.deepEqual(responseHeaders(raw, target, true).headers.slice(2, 4), ['Connection', 'keep-alive']);
  });

  it("keeps the sandbox's own CSP and adds the target's headers after it; drops the sandbox's X-Request-Id", () => {
    const target = { sandboxId: 'iabc', address: '10.0.0.2', port: 49983, host: HOST, addResponseHeaders: ['content-security-policy', 'sandbox'] };
    const raw = ['Content-Security-Policy', "script-src 'unsafe-inline'", 'X-Request-Id', 'forged', 'Content-Type', 'text/html'];
    assert.deepEqual(responseHeaders(raw, target).headers, ['Content-Security-Policy', "script-src 'unsafe-inline'", 'Content-Type', 'text/html', 'content-security-policy', 'sandbox']);
  });
});
