import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import { createMetricsSampler } from '../../sandboxes/metrics-sampler.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { FakeRuntime } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';

const runtimes: FakeRuntime[] = [];
after(async () => {
  for (const r of runtimes) await r.close();
});

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const METRIC_KEYS = ['cpuCount', 'cpuUsedPct', 'diskTotal', 'diskUsed', 'memCache', 'memTotal', 'memUsed', 'timestamp', 'timestampUnix'];

function setup() {
  const runtime = new FakeRuntime();
  runtimes.push(runtime);
  const db = openDatabase(':memory:');
  const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });
  let clock = T0;
  const metrics = createMetricsSampler({ sandboxes, now: () => clock });
  const app = createApp({ sandboxes, apiKeys: createApiKeyStore(db, TEST_API_KEY), logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600, metrics });
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await app.request(path, { headers: { 'x-api-key': TEST_API_KEY, ...headers } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const create = async (): Promise<string> => {
    const res = await app.request('/v2/sandboxes', { method: 'POST', headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' }, body: '{"templateID":"base"}' });
    assert.equal(res.status, 201);
    return ((await res.json()) as { sandboxID: string }).sandboxID;
  };
  /** `rounds` sampler rounds 5 s apart, memUsed = 1000 + round. */
  const sample = async (rounds: number) => {
    for (let i = 0; i < rounds; i++) {
      runtime.metricsValues = { ...runtime.metricsValues, memUsedBytes: 1000 + i };
      await metrics.sampleAll();
      clock += 5000;
    }
  };
  const setClock = (ms: number) => (clock = ms);
  return { get, create, sample, sandboxes, runtime, setClock };
}

async function assertE2bError(res: { status: number; body: any }, status: number, message: RegExp | string): Promise<void> {
  assert.equal(res.status, status);
  assert.equal(res.body.code, status);
  if (typeof message === 'string') assert.equal(res.body.message, message);
  else assert.match(res.body.message, message);
}

describe('GET /sandboxes/{id}/metrics', () => {
  it('returns the sampled history in order, each with E2B\'s nine keys', async () => {
    const { get, create, sample } = setup();
    const id = await create();
    await sample(6);
    const { status, body } = await get(`/sandboxes/${id}/metrics`);
    assert.equal(status, 200);
    // Six samples plus a reading of now, in its own bucket.
    assert.equal(body.length, 7);
    assert.deepEqual(Object.keys(body[0]).sort(), METRIC_KEYS);
    assert.deepEqual(body.slice(0, 6).map((m: { memUsed: number }) => m.memUsed), [1000, 1001, 1002, 1003, 1004, 1005]);
    assert.equal(body[0].timestamp, new Date(T0).toISOString());
    assert.equal(body[0].timestampUnix, T0 / 1000);
    for (let i = 1; i < body.length; i++) assert.equal(body[i].timestampUnix - body[i - 1].timestampUnix, 5);
    assert.equal(body[0].memTotal, 512 * 2 ** 20);
    assert.equal(body[0].diskTotal, 1024 * 2 ** 20);
  });

  it('filters by start and end (unix seconds, inclusive)', async () => {
    const { get, create, sample } = setup();
    const id = await create();
    await sample(6);
    const s = T0 / 1000;
    const mem = (body: Array<{ memUsed: number }>) => body.map((m) => m.memUsed);
    assert.deepEqual(mem((await get(`/sandboxes/${id}/metrics?start=${s + 5}&end=${s + 15}`)).body), [1001, 1002, 1003]);
    assert.deepEqual(mem((await get(`/sandboxes/${id}/metrics?start=${s + 6}&end=${s + 14}`)).body), [1002]);
    assert.deepEqual(mem((await get(`/sandboxes/${id}/metrics?end=${s + 5}`)).body), [1000, 1001]);
    assert.deepEqual((await get(`/sandboxes/${id}/metrics?start=${s + 10}&end=${s + 10}`)).body.length, 1);
    assert.deepEqual((await get(`/sandboxes/${id}/metrics?start=${s - 100}&end=${s - 50}`)).body, []);
  });

  it('takes a sample at once for a sandbox that has none yet (the SDK right after create)', async () => {
    const { get, create } = setup();
    const id = await create();
    const { status, body } = await get(`/sandboxes/${id}/metrics`);
    assert.equal(status, 200);
    assert.equal(body.length, 1);
    assert.equal(body[0].cpuUsedPct, 12.5);
  });

  it('answers [] for an unknown or ended sandbox (E2B: no samples, not 404)', async () => {
    const { get, create, sample, sandboxes } = setup();
    assert.deepEqual(await get('/sandboxes/inotthere000000000000/metrics'), { status: 200, body: [] });
    const id = await create();
    await sample(2);
    await sandboxes.kill(id);
    assert.deepEqual(await get(`/sandboxes/${id}/metrics`), { status: 200, body: [] });
  });

  it('answers E2B\'s 400s: start after end, non-integer, negative, too large, malformed id', async () => {
    const { get, create, sample } = setup();
    const id = await create();
    await sample(2);
    await assertE2bError(await get(`/sandboxes/${id}/metrics?start=200&end=100`), 400, 'Invalid time range for metrics');
    await assertE2bError(await get(`/sandboxes/${id}/metrics?start=abc`), 400, /parameter "start" in query has an error: value abc: an invalid integer/);
    await assertE2bError(await get(`/sandboxes/${id}/metrics?end=1.5`), 400, /parameter "end" in query has an error/);
    await assertE2bError(await get(`/sandboxes/${id}/metrics?start=-1`), 400, /parameter "start" in query has an error: number must be at least 0/);
    await assertE2bError(await get(`/sandboxes/${id}/metrics?start=99999999999999999999`), 400, /value out of range/);
    await assertE2bError(await get(`/sandboxes/${id}/metrics?end=99999999999`), 400, 'Invalid time range for metrics');
    await assertE2bError(await get('/sandboxes/NOT_AN_ID/metrics'), 400, 'Invalid sandbox ID');
    await assertE2bError(await get(`/sandboxes/${id}/metrics`, { 'x-api-key': '' }), 401, /X-API-KEY/);
  });

  it('accepts the id with the deprecated `-<clientID>` suffix', async () => {
    const { get, create, sample } = setup();
    const id = await create();
    await sample(2);
    const { status, body } = await get(`/sandboxes/${id}-6532622b/metrics?end=${T0 / 1000 + 5}`);
    assert.equal(status, 200);
    assert.equal(body.length, 2);
  });
});

describe('GET /sandboxes/metrics', () => {
  it('maps each running sandbox id to its latest sample; unknown ids are left out', async () => {
    const { get, create, sample, runtime, setClock } = setup();
    const a = await create();
    const b = await create();
    await sample(3);
    setClock(T0 + 10_500);
    runtime.metricsValues = { ...runtime.metricsValues, memUsedBytes: 5555 };
    const { status, body } = await get(`/sandboxes/metrics?sandbox_ids=${a},${b},inotthere000000000000`);
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body), ['sandboxes']);
    assert.deepEqual(Object.keys(body.sandboxes).sort(), [a, b].sort());
    for (const id of [a, b]) {
      assert.deepEqual(Object.keys(body.sandboxes[id]).sort(), METRIC_KEYS);
      assert.equal(body.sandboxes[id].memUsed, 5555, 'a reading of now');
      assert.equal(body.sandboxes[id].timestamp, new Date(T0 + 10_500).toISOString());
    }
  });

  it('reads a running sandbox that has no sample yet', async () => {
    const { get, create } = setup();
    const a = await create();
    const { body } = await get(`/sandboxes/metrics?sandbox_ids=${a}`);
    assert.equal(body.sandboxes[a].cpuUsedPct, 12.5);
  });

  it('answers E2B\'s 400s: missing, more than 100, duplicated or malformed ids', async () => {
    const { get } = setup();
    await assertE2bError(await get('/sandboxes/metrics'), 400, /parameter "sandbox_ids" in query has an error: value is required but missing/);
    const many = Array.from({ length: 101 }, (_, i) => `i${String(i).padStart(20, '0')}`).join(',');
    await assertE2bError(await get(`/sandboxes/metrics?sandbox_ids=${many}`), 400, /maximum number of items is 100/);
    const hundred = Array.from({ length: 100 }, (_, i) => `i${String(i).padStart(20, '0')}`).join(',');
    assert.deepEqual(await get(`/sandboxes/metrics?sandbox_ids=${hundred}`), { status: 200, body: { sandboxes: {} } });
    await assertE2bError(await get('/sandboxes/metrics?sandbox_ids=iaaaa,iaaaa'), 400, /duplicate items found/);
    await assertE2bError(await get('/sandboxes/metrics?sandbox_ids=iaaaa,Bad!'), 400, 'Invalid sandbox ID');
    await assertE2bError(await get('/sandboxes/metrics?sandbox_ids='), 400, 'Invalid sandbox ID');
  });
});
