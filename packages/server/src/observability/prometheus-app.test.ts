import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../app.js';
import { createApiKeyStore } from '../auth/api-keys.js';
import { createMetricsSampler } from '../sandboxes/metrics-sampler.js';
import { createSandboxService } from '../sandboxes/sandbox-service.js';
import { openDatabase } from '../store/database.js';
import { createSandboxRepo } from '../store/sandbox-repo.js';
import { fakeRuntimesClosedAfter } from '../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../testing/harness.js';
import { findSamples, parsePromText, sampleValue } from '../testing/prom-text.js';

const newRuntime = fakeRuntimesClosedAfter(after);

function setup() {
  const runtime = newRuntime();
  const db = openDatabase(':memory:');
  const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });
  const metrics = createMetricsSampler({ sandboxes });
  const app = createApp({ sandboxes, apiKeys: createApiKeyStore(db, TEST_API_KEY), logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600, metrics });
  const call = (path: string, init: RequestInit = {}) =>
    app.request(path, { ...init, headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
  const scrape = async (headers: Record<string, string> = { authorization: `Bearer ${TEST_API_KEY}` }) => {
    const res = await app.request('/metrics', { headers });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePromText(await res.text());
  };
  return { runtime, metrics, call, scrape, app };
}

describe('GET /metrics', () => {
  it('needs an API key: X-API-KEY or Bearer; a wrong or missing one is a 401 in E2B shape', async () => {
    const { app, scrape } = setup();
    for (const headers of <Record<string, string>[]>[{}, { 'x-api-key': 'e2b_' + '0'.repeat(40) }, { authorization: 'Bearer nope' }]) {
      const res = await app.request('/metrics', { headers });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { code: number; message: string };
      assert.equal(body.code, 401);
      assert.match(body.message, /API key/);
    }
    await scrape({ 'x-api-key': TEST_API_KEY });
    await scrape({ authorization: `Bearer ${TEST_API_KEY}` });
  });

  it('moves after a create and a kill: sandboxes by state, creates, ends, per-sandbox series gone after the kill', async () => {
    const { runtime, metrics, call, scrape } = setup();
    const before = await scrape();
    assert.equal(sampleValue(before.samples, 'sandboxd_sandboxes', { state: 'running', template: 'base' }), undefined);
    assert.equal(before.types.get('sandboxd_sandbox_creates_total'), 'counter');
    assert.ok(findSamples(before.samples, 'sandboxd_process_cpu_user_seconds_total').length === 1, 'default process metrics');

    const created = await call('/v2/sandboxes', { method: 'POST', body: '{"templateID":"base"}' });
    assert.equal(created.status, 201);
    const id = ((await created.json()) as { sandboxID: string }).sandboxID;
    assert.equal((await call('/v2/sandboxes', { method: 'POST', body: '{"templateID":"nope-template"}' })).status, 404);
    runtime.metricsValues = { ...runtime.metricsValues, memUsedBytes: 77 * 2 ** 20, cpuNanos: 3_500_000_000 };
    await metrics.sampleAll();

    const during = (await scrape()).samples;
    assert.equal(sampleValue(during, 'sandboxd_sandboxes', { state: 'running', template: 'base' }), 1);
    assert.equal(sampleValue(during, 'sandboxd_sandbox_creates_total', { template: 'base', outcome: 'ok' }), 1);
    assert.equal(sampleValue(during, 'sandboxd_sandbox_creates_total', { template: '(unknown)', outcome: 'TEMPLATE_NOT_FOUND' }), 1);
    assert.equal(findSamples(during, 'sandboxd_sandbox_creates_total', { template: 'nope-template' }).length, 0);
    assert.equal(sampleValue(during, 'sandboxd_sandbox_create_duration_seconds_count', { template: 'base', outcome: 'ok' }), 1);
    assert.equal(sampleValue(during, 'sandboxd_sandbox_memory_bytes', { sandbox_id: id }), 77 * 2 ** 20);
    assert.equal(sampleValue(during, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: id }), 3.5);
    assert.equal(sampleValue(during, 'sandboxd_http_requests_total', { route: '/v2/sandboxes', method: 'POST', status_class: '2xx' }), 1);
    assert.equal(sampleValue(during, 'sandboxd_http_requests_total', { route: '/v2/sandboxes', method: 'POST', status_class: '4xx' }), 1);

    assert.equal((await call(`/sandboxes/${id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/sandboxes/${id}`, { method: 'DELETE' })).status, 404);
    const afterKill = (await scrape()).samples;
    assert.equal(sampleValue(afterKill, 'sandboxd_sandboxes', { state: 'running', template: 'base' }), undefined);
    assert.equal(sampleValue(afterKill, 'sandboxd_sandbox_ends_total', { reason: 'killed' }), 1);
    assert.equal(findSamples(afterKill, 'sandboxd_sandbox_memory_bytes', { sandbox_id: id }).length, 0);
    assert.equal(findSamples(afterKill, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: id }).length, 0);
    // Route patterns, never raw paths: the sandbox id is no label value.
    assert.equal(sampleValue(afterKill, 'sandboxd_http_requests_total', { route: '/sandboxes/:sandboxID', method: 'DELETE', status_class: '2xx' }), 1);
    assert.equal(sampleValue(afterKill, 'sandboxd_http_requests_total', { route: '/sandboxes/:sandboxID', method: 'DELETE', status_class: '4xx' }), 1);
    assert.equal(afterKill.some((s) => Object.values(s.labels).some((v) => v.includes(id))), false);
  });

  it('labels a 401 with the route it was meant for and an unknown path as (unmatched)', async () => {
    const { app, scrape } = setup();
    assert.equal((await app.request('/v2/sandboxes')).status, 401);
    assert.equal((await app.request('/no/such/path/123', { headers: { 'x-api-key': TEST_API_KEY } })).status, 404);
    const { samples } = await scrape();
    assert.equal(sampleValue(samples, 'sandboxd_http_requests_total', { route: '/v2/sandboxes', method: 'GET', status_class: '4xx' }), 1);
    assert.equal(sampleValue(samples, 'sandboxd_http_requests_total', { route: '(unmatched)', method: 'GET', status_class: '4xx' }), 1);
    assert.equal(findSamples(samples, 'sandboxd_http_requests_total').some((s) => s.labels['route']!.includes('123')), false);
  });
});
