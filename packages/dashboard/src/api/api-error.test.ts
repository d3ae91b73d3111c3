import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, errorFromResponse, isNotAvailable } from './api-error.js';
import { createApiClient } from './client.js';

describe('errors from the daemon', () => {
  it('reads E2B REST bodies, Connect bodies and plain text', async () => {
    const rest = await errorFromResponse(new Response(JSON.stringify({ code: 404, message: 'sandbox x not found', error_code: 'SANDBOX_NOT_FOUND' }), { status: 404 }), 'GET /sandboxes/x');
    assert.equal(rest.status, 404);
    assert.equal(rest.code, 'SANDBOX_NOT_FOUND');
    assert.equal(rest.message, 'GET /sandboxes/x: 404 sandbox x not found');
    const connect = await errorFromResponse(new Response(JSON.stringify({ code: 'not_found', message: 'no such dir' }), { status: 404 }), 'ListDir');
    assert.equal(connect.code, 'not_found');
    const text = await errorFromResponse(new Response('bad gateway', { status: 502 }), 'x');
    assert.equal(text.message, 'x: 502 bad gateway');
    assert.equal(text.code, undefined);
  });

  it('counts 404, 405 and 501 as a feature that is not there', () => {
    assert.equal(isNotAvailable(new ApiError(404, 'x')), true);
    assert.equal(isNotAvailable(new ApiError(501, 'x')), true);
    assert.equal(isNotAvailable(new ApiError(500, 'x')), false);
    assert.equal(isNotAvailable(new Error('x')), false);
  });
});

describe('api client', () => {
  it('sends the key as X-API-KEY only, never in the URL; JSON bodies; 204 is undefined', async () => {
    const seen: Array<{ url: string; init: RequestInit }> = [];
    const api = createApiClient('e2b_secret', async (url, init) => {
      seen.push({ url, init });
      return url.startsWith('/gone') ? new Response(null, { status: 204 }) : Response.json({ ok: true });
    });
    assert.deepEqual(await api.json('/v2/sandboxes?limit=1'), { ok: true });
    assert.equal(await api.json('/gone', { method: 'DELETE', body: { a: 1 } }), undefined);
    for (const { url, init } of seen) {
      assert.doesNotMatch(url, /secret/);
      assert.equal((init.headers as Record<string, string>)['X-API-KEY'], 'e2b_secret');
      assert.equal(init.credentials, 'omit');
    }
    assert.equal(seen[1]!.init.body, '{"a":1}');
    assert.equal((seen[1]!.init.headers as Record<string, string>)['Content-Type'], 'application/json');
  });

  it('turns refusals, unreachable daemons and deadlines into ApiErrors', async () => {
    const refused = createApiClient('k', async () => Response.json({ code: 401, message: 'invalid or missing API key' }, { status: 401 }));
    await assert.rejects(refused.json('/v2/sandboxes'), (e: unknown) => e instanceof ApiError && e.status === 401 && /GET \/v2\/sandboxes: 401 invalid/.test(e.message));
    const down = createApiClient('k', async () => {
      throw new TypeError('fetch failed');
    });
    await assert.rejects(down.json('/x'), (e: unknown) => e instanceof ApiError && e.status === 0 && /cannot be reached/.test(e.message));
    const slow = createApiClient('k', (_url, init) => new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))));
    await assert.rejects(slow.json('/x', { timeoutMs: 20 }), (e: unknown) => e instanceof ApiError && /timed out/.test(e.message));
  });
});
