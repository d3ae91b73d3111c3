import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import type { Scope } from '../../auth/scopes.js';
import { createMetricsSampler } from '../../sandboxes/metrics-sampler.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { fakeRuntimesClosedAfter } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';
import { createUsageMeter } from '../../usage/usage-meter.js';
import { createUsageStore } from '../../usage/usage-store.js';

const newRuntime = fakeRuntimesClosedAfter(after);

function setup() {
  const runtime = newRuntime();
  const db = openDatabase(':memory:');
  const apiKeys = createApiKeyStore(db, TEST_API_KEY);
  const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });
  const usage = createUsageMeter({ store: createUsageStore(db) });
  const metrics = createMetricsSampler({
    sandboxes,
    onSample: (id, sample, m) => {
      const record = sandboxes.find(id);
      if (record) usage.observe(record, { at: sample.at, memBytes: sample.memUsed, ...(m.cpuNanos !== undefined ? { cpuNanos: m.cpuNanos } : {}) });
    },
  });
  sandboxes.onEnd((r) => usage.ended(r));
  const app = createApp({ sandboxes, apiKeys, logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600, metrics, usage });
  const call = async (key: string, method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  };
  const key = (scopes: Scope[], quota = {}) => apiKeys.create('k', { scopes, quota });
  return { app, call, key, runtime, sandboxes, metrics, usage, apiKeys };
}

const USER: Scope[] = ['sandboxes:create', 'sandboxes:use', 'sandboxes:read'];

describe('scoped keys over REST', () => {
  it('a read-only key cannot create (403 naming the scope) but lists', async () => {
    const { call, key } = setup();
    const ro = key(['sandboxes:read']);
    const refused = await call(ro.key, 'POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.code, 403);
    assert.match(refused.body.message, /lacks the scope "sandboxes:create"/);
    const listed = await call(ro.key, 'GET', '/v2/sandboxes');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, []);
  });

  it('each key sees and controls only its own sandboxes; the rest are 404 as unknown ids; admin sees all', async () => {
    const { call, key } = setup();
    const a = key(USER);
    const b = key(USER);
    const sa = (await call(a.key, 'POST', '/v2/sandboxes', { templateID: 'base' })).body.sandboxID as string;
    const sb = (await call(b.key, 'POST', '/v2/sandboxes', { templateID: 'base' })).body.sandboxID as string;
    const ids = async (k: string, path: string) => ((await call(k, 'GET', path)).body as Array<{ sandboxID: string }>).map((s) => s.sandboxID).sort();
    assert.deepEqual(await ids(a.key, '/v2/sandboxes'), [sa]);
    assert.deepEqual(await ids(b.key, '/sandboxes'), [sb]);
    assert.deepEqual(await ids(TEST_API_KEY, '/v2/sandboxes'), [sa, sb].sort());
    assert.equal((await call(a.key, 'GET', '/v2/sandboxes')).headers.get('x-total-running'), '1');
    const unknown = await call(a.key, 'GET', '/sandboxes/inotthere0000000000000');
    for (const [method, path, body] of [
      ['GET', `/sandboxes/${sb}`],
      ['DELETE', `/sandboxes/${sb}`],
      ['POST', `/sandboxes/${sb}/timeout`, { timeout: 60 }],
      ['POST', `/sandboxes/${sb}/connect`, { timeout: 60 }],
      ['POST', `/v2/sandboxes/${sb}/connect`, {}],
      ['POST', `/sandboxes/${sb}/refreshes`, {}],
      ['PUT', `/sandboxes/${sb}/network`, { allow_internet_access: false }],
      ['GET', `/sandboxes/${sb}/logs`],
      ['GET', `/v2/sandboxes/${sb}/logs`],
    ] as Array<[string, string, unknown?]>) {
      const res = await call(a.key, method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.message, `sandbox "${sb}" not found`);
      assert.equal(unknown.body.message.replace(/"[^"]+"/, '"x"'), res.body.message.replace(/"[^"]+"/, '"x"'));
    }
    assert.deepEqual((await call(a.key, 'GET', `/sandboxes/${sb}/metrics`)).body, []);
    assert.ok(((await call(b.key, 'GET', `/sandboxes/${sb}/metrics`)).body as unknown[]).length > 0);
    assert.deepEqual((await call(a.key, 'GET', `/sandboxes/metrics?sandbox_ids=${sa},${sb}`)).body.sandboxes[sb], undefined);
    assert.ok((await call(a.key, 'GET', `/sandboxes/metrics?sandbox_ids=${sa},${sb}`)).body.sandboxes[sa]);
    // b's sandbox is unharmed; b and admin control it.
    assert.equal((await call(b.key, 'GET', `/sandboxes/${sb}`)).status, 200);
    assert.equal((await call(TEST_API_KEY, 'POST', `/sandboxes/${sb}/timeout`, { timeout: 120 })).status, 204);
    assert.equal((await call(TEST_API_KEY, 'DELETE', `/sandboxes/${sb}`)).status, 204);
    assert.equal((await call(a.key, 'DELETE', `/sandboxes/${sa}`)).status, 204);
  });

  it('a key without sandboxes:use gets the info without the access token, and cannot connect', async () => {
    const { call, key } = setup();
    const creator = key(['sandboxes:create', 'sandboxes:read']);
    const created = await call(creator.key, 'POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(typeof created.body.envdAccessToken, 'string');
    const info = await call(creator.key, 'GET', `/sandboxes/${created.body.sandboxID}`);
    assert.equal(info.status, 200);
    assert.equal('envdAccessToken' in info.body, false);
    const connect = await call(creator.key, 'POST', `/sandboxes/${created.body.sandboxID}/connect`, {});
    assert.equal(connect.status, 403);
    assert.match(connect.body.message, /"sandboxes:use"/);
    const admin = await call(TEST_API_KEY, 'GET', `/sandboxes/${created.body.sandboxID}`);
    assert.equal(admin.body.envdAccessToken, created.body.envdAccessToken);
  });

  it('quotas: concurrent sandboxes (429), memory (429), timeout (400), extensions capped', async () => {
    const { call, key, sandboxes } = setup();
    const one = key(USER, { maxSandboxes: 1, maxTimeoutSec: 600 });
    const first = await call(one.key, 'POST', '/v2/sandboxes', { templateID: 'base', timeout: 600 });
    assert.equal(first.status, 201);
    const second = await call(one.key, 'POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(second.status, 429);
    assert.match(second.body.message, /max-sandboxes quota: 1 of 1/);
    // Another key is not affected; the quota frees up once the sandbox is gone.
    assert.equal((await call(TEST_API_KEY, 'POST', '/v2/sandboxes', { templateID: 'base' })).status, 201);
    const long = await call(one.key, 'POST', `/sandboxes/${first.body.sandboxID}/timeout`, { timeout: 601 });
    assert.equal(long.status, 400);
    assert.match(long.body.message, /max-timeout quota of 600 s/);
    assert.equal((await call(one.key, 'POST', `/sandboxes/${first.body.sandboxID}/connect`, { timeout: 3600 })).status, 200);
    assert.ok(sandboxes.get(first.body.sandboxID).endAt <= Date.now() + 600_000 + 1000);
    assert.equal((await call(one.key, 'DELETE', `/sandboxes/${first.body.sandboxID}`)).status, 204);
    const tooLong = await call(one.key, 'POST', '/v2/sandboxes', { templateID: 'base', timeout: 900 });
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.message, /timeout 900 s exceeds this API key's max-timeout quota of 600 s/);
    assert.equal((await call(one.key, 'POST', '/v2/sandboxes', { templateID: 'base' })).status, 201);

    const mem = key(USER, { maxMemoryMB: 1536 });
    assert.equal((await call(mem.key, 'POST', '/v2/sandboxes', { templateID: 'code-interpreter-v1' })).status, 201);
    const over = await call(mem.key, 'POST', '/v2/sandboxes', { templateID: 'code-interpreter-v1' });
    assert.equal(over.status, 429);
    assert.match(over.body.message, /max-memory quota of 1536 MiB does not fit another sandbox of 1024 MiB \(1024 MiB in use/);
    assert.equal((await call(mem.key, 'POST', '/v2/sandboxes', { templateID: 'base' })).status, 201);
  });

  it('a paused sandbox still counts against its key’s quota; killing it frees the room', async () => {
    const { call, key } = setup();
    const one = key(USER, { maxSandboxes: 1 });
    const first = await call(one.key, 'POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(first.status, 201);
    assert.equal((await call(one.key, 'POST', `/sandboxes/${first.body.sandboxID}/pause`)).status, 204);
    const second = await call(one.key, 'POST', '/v2/sandboxes', { templateID: 'base' });
    assert.equal(second.status, 429, 'pausing does not make room for another');
    assert.equal((await call(one.key, 'DELETE', `/sandboxes/${first.body.sandboxID}`)).status, 204);
    assert.equal((await call(one.key, 'POST', '/v2/sandboxes', { templateID: 'base' })).status, 201);
  });

  it('concurrent creates of one key cannot overshoot its quota', async () => {
    const { call, key } = setup();
    const k = key(USER, { maxSandboxes: 2 });
    const results = await Promise.all(Array.from({ length: 5 }, () => call(k.key, 'POST', '/v2/sandboxes', { templateID: 'base' })));
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 201, 429, 429, 429]);
  });

  it('/metrics needs metrics:read (or admin); templates listing any key; unknown routes admin', async () => {
    const { app, key } = setup();
    const user = key(USER);
    const scraper = key(['metrics:read']);
    const get = (k: string, path: string) => app.request(path, { headers: { authorization: `Bearer ${k}`, 'x-api-key': k } });
    const refused = await get(user.key, '/metrics');
    assert.equal(refused.status, 403);
    assert.match(((await refused.json()) as { message: string }).message, /"metrics:read"/);
    assert.equal((await get(scraper.key, '/metrics')).status, 200);
    assert.equal((await get(TEST_API_KEY, '/metrics')).status, 200);
    assert.equal((await get(scraper.key, '/v2/sandboxes')).status, 403);
    const unknown = await get(user.key, '/nope');
    assert.equal(unknown.status, 403);
    assert.equal((await get(TEST_API_KEY, '/nope')).status, 404);
  });
});

describe('GET /usage', () => {
  it('each key gets its own usage, admin every key; another keyId is 403 for non-admins', async () => {
    const { call, key, metrics, runtime } = setup();
    const a = key(USER);
    const b = key(USER);
    const sa = (await call(a.key, 'POST', '/v2/sandboxes', { templateID: 'base' })).body.sandboxID as string;
    await call(b.key, 'POST', '/v2/sandboxes', { templateID: 'base' });
    runtime.metricsValues = { ...runtime.metricsValues, cpuNanos: 3e9 };
    await new Promise((r) => setTimeout(r, 20));
    await metrics.sampleAll();
    const own = await call(a.key, 'GET', '/usage');
    assert.equal(own.status, 200);
    assert.deepEqual(own.body.usage.map((u: { keyId: string }) => u.keyId), [a.id]);
    const u = own.body.usage[0];
    assert.ok(u.sandboxSeconds > 0);
    assert.equal(u.cpuSeconds, 3);
    assert.ok(u.memoryGiBSeconds > 0);
    assert.equal(u.sandboxes, 1);
    assert.equal(u.keyName, 'k');
    const all = await call(TEST_API_KEY, 'GET', '/usage');
    assert.deepEqual(all.body.usage.map((x: { keyId: string }) => x.keyId).sort(), [a.id, b.id].sort());
    const filtered = await call(TEST_API_KEY, 'GET', `/usage?keyId=${b.id}`);
    assert.deepEqual(filtered.body.usage.map((x: { keyId: string }) => x.keyId), [b.id]);
    const other = await call(a.key, 'GET', `/usage?keyId=${b.id}`);
    assert.equal(other.status, 403);
    assert.match(other.body.message, /"admin"/);
    // A range before anything ran is empty; bad times are 400.
    assert.deepEqual((await call(TEST_API_KEY, 'GET', '/usage?start=0&end=60')).body.usage, []);
    assert.equal((await call(a.key, 'GET', '/usage?start=yesterday')).status, 400);
    assert.equal((await call(a.key, 'GET', '/usage?start=2026-12-01T00:00:00Z&end=2026-11-01T00:00:00Z')).status, 400);
    // Killing adds the wall time up to the end.
    const before = u.sandboxSeconds as number;
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await call(a.key, 'DELETE', `/sandboxes/${sa}`)).status, 204);
    const afterKill = (await call(a.key, 'GET', '/usage')).body.usage[0];
    assert.ok(afterKill.sandboxSeconds >= before + 0.04, `${afterKill.sandboxSeconds} after ${before}`);
  });
});
