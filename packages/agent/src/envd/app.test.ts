import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { UNAUTHORIZED_MESSAGE } from './access.js';
import { inProcessEnvd, type InProcessEnvd } from './envd.test-support.js';
import type { EnvdMetrics } from './rest/metrics.js';

const metrics: EnvdMetrics = {
  ts: 1,
  cpu_count: 2,
  cpu_used_pct: 3,
  mem_total: 4,
  mem_used: 5,
  mem_cache: 6,
  mem_total_mib: 7,
  mem_used_mib: 8,
  disk_used: 9,
  disk_total: 10,
};

describe('envd app (in-process, app.request)', () => {
  let envd: InProcessEnvd;
  before(async () => {
    envd = await inProcessEnvd({ accessToken: 'tok' }, { readMetrics: async () => metrics });
  });
  after(() => envd.close());

  it('answers /health without a token and gates the rest behind X-Access-Token with envd\'s body', async () => {
    assert.equal((await envd.app.request('/health')).status, 204);
    const denied = await envd.app.request('/envs');
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await denied.json(), { code: 401, message: UNAUTHORIZED_MESSAGE });
    assert.equal((await envd.app.request('/envs', { headers: { 'X-Access-Token': 'tok-' } })).status, 401);
    // A Connect path is gated the same way, before Connect sees it.
    const rpc = await envd.app.request('/process.Process/List', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    assert.equal(rpc.status, 401);
    assert.deepEqual(await rpc.json(), { code: 401, message: UNAUTHORIZED_MESSAGE });
  });

  it('serves /envs and /metrics as JSON, and names unknown routes in a 404 body', async () => {
    const headers = { 'X-Access-Token': 'tok' };
    const envs = await envd.app.request('/envs', { headers });
    assert.equal(envs.status, 200);
    assert.deepEqual(await envs.json(), { SANDBOX_GLOBAL: 'from-sandbox' });
    assert.deepEqual(await (await envd.app.request('/metrics', { headers })).json(), metrics);
    const missing = await envd.app.request('/nope', { headers });
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { code: 404, message: 'GET /nope not found' });
    assert.equal((await envd.app.request('/health', { method: 'POST', headers })).status, 404);
  });
});
