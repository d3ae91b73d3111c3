import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { fakeRuntimesClosedAfter } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';

const newRuntime = fakeRuntimesClosedAfter(after);

function setup(options: { graceMs?: number; toDisk?: boolean; now?: () => number } = {}) {
  const runtime = newRuntime();
  const db = openDatabase(':memory:');
  const repo = createSandboxRepo(db);
  const sandboxes = createSandboxService({
    runtime,
    templates: staticTemplates(),
    repo,
    logger: silentLogger,
    createTimeoutMs: 5000,
    pauseToDisk: options.toDisk ?? true,
    pauseMemoryGraceMs: options.graceMs ?? 60_000,
    pauseMinAvailableBytes: 0,
    ...(options.now ? { now: options.now } : {}),
  });
  const app = createApp({ sandboxes, apiKeys: createApiKeyStore(db, TEST_API_KEY), logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600 });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const create = async (body: Record<string, unknown> = {}): Promise<string> => {
    const res = await call('POST', '/v2/sandboxes', { templateID: 'base', ...body });
    assert.equal(res.status, 201);
    return ((await res.json()) as { sandboxID: string }).sandboxID;
  };
  return { runtime, sandboxes, repo, call, create };
}

const body = async (res: Response): Promise<any> => res.json();
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pause and resume (REST)', () => {
  it('pause 204, again 409 as E2B words it, unknown 404; info and list say paused', async () => {
    const { call, create, runtime } = setup();
    const id = await create({ metadata: { k: 'v' } });
    assert.equal((await call('POST', `/sandboxes/${id}/pause`)).status, 204);
    assert.deepEqual(runtime.pauseCalls, [`freeze:${id}`]);
    const again = await call('POST', `/sandboxes/${id}/pause`, {});
    assert.equal(again.status, 409);
    assert.deepEqual(await body(again), { code: 409, message: `Error pausing sandbox - sandbox '${id}' is already paused`, error_code: 'SANDBOX_ALREADY_PAUSED' });
    assert.equal((await call('POST', '/sandboxes/iunknown0000000000000/pause')).status, 404);
    assert.equal((await body(await call('GET', `/sandboxes/${id}`))).state, 'paused');
    assert.deepEqual((await body(await call('GET', '/v2/sandboxes?state=paused'))).map((s: any) => s.sandboxID), [id]);
    assert.deepEqual(await body(await call('GET', '/v2/sandboxes?state=running')), []);
    assert.equal((await body(await call('GET', '/v2/sandboxes?state=running,paused'))).length, 1);
    assert.equal((await body(await call('GET', '/v2/sandboxes'))).length, 1, 'no state filter lists both');
    // Only running sandboxes take traffic-side calls.
    assert.equal((await call('GET', `/v2/sandboxes/${id}/logs`)).status, 404);
  });

  it('connect resumes a paused sandbox with 201 (end time now + timeout), a running one answers 200', async () => {
    const { call, create, runtime } = setup();
    const id = await create();
    assert.equal((await call('POST', `/v2/sandboxes/${id}/connect`, { timeout: 30 })).status, 200);
    await call('POST', `/sandboxes/${id}/pause`);
    const resumed = await call('POST', `/v2/sandboxes/${id}/connect`, { timeout: 30 });
    assert.equal(resumed.status, 201);
    assert.equal((await body(resumed)).sandboxID, id);
    assert.deepEqual(runtime.pauseCalls, [`freeze:${id}`, `thaw:${id}`]);
    const info = await body(await call('GET', `/sandboxes/${id}`));
    assert.equal(info.state, 'running');
    const left = Date.parse(info.endAt) - Date.now();
    assert.ok(left > 25_000 && left <= 30_000, `end time ${left} ms away`);
    assert.equal((await call('POST', '/v2/sandboxes/iunknown0000000000000/connect', {})).status, 404);
    assert.equal((await call('POST', '/sandboxes/iunknown0000000000000/connect', {})).status, 404);
  });

  it('deprecated resume: 201 when paused, 409 when running, 404 unknown', async () => {
    const { call, create } = setup();
    const id = await create();
    const running = await call('POST', `/sandboxes/${id}/resume`, {});
    assert.equal(running.status, 409);
    assert.match((await body(running)).message, /already running/);
    await call('POST', `/sandboxes/${id}/pause`);
    const res = await call('POST', `/sandboxes/${id}/resume`, { timeout: 60 });
    assert.equal(res.status, 201);
    assert.equal((await body(res)).sandboxID, id);
    assert.equal((await call('POST', '/sandboxes/iunknown0000000000000/resume', {})).status, 404);
  });

  it('goes to disk after the grace period and resumes from there', async () => {
    const { call, create, runtime, sandboxes } = setup({ graceMs: 50 });
    const id = await create();
    await call('POST', `/sandboxes/${id}/pause`);
    assert.equal(sandboxes.pauseTier(id), 'memory');
    await wait(150);
    assert.equal(sandboxes.pauseTier(id), 'disk');
    assert.equal((await call('POST', `/sandboxes/${id}/connect`, {})).status, 201);
    assert.deepEqual(runtime.pauseCalls, [`freeze:${id}`, `checkpoint:${id}`, `restore:${id}`]);
  });

  it('with the disk tier off (the default) a paused sandbox stays frozen in memory', async () => {
    const { call, create, runtime, sandboxes } = setup({ graceMs: 30, toDisk: false });
    const id = await create();
    await call('POST', `/sandboxes/${id}/pause`);
    await wait(200);
    assert.equal(sandboxes.pauseTier(id), 'memory');
    assert.equal((await call('POST', `/sandboxes/${id}/connect`, {})).status, 201);
    assert.deepEqual(runtime.pauseCalls, [`freeze:${id}`, `thaw:${id}`]);
  });

  it('a refused checkpoint leaves it paused in memory, and resume still works', async () => {
    const { call, create, runtime, sandboxes } = setup({ graceMs: 30 });
    runtime.failCheckpoint = new Error('save rejected due to unsupported networking state');
    const id = await create();
    await call('POST', `/sandboxes/${id}/pause`);
    const checkpoints = () => runtime.pauseCalls.filter((c) => c.startsWith('checkpoint')).length;
    // The first try after the grace period; after its refusal the next waits at least 1 s.
    for (let waited = 0; checkpoints() < 2 && waited < 10_000; waited += 50) await wait(50);
    assert.equal(sandboxes.pauseTier(id), 'memory');
    assert.ok(checkpoints() >= 2, 'tried again after a refusal');
    assert.equal((await call('POST', `/sandboxes/${id}/connect`, {})).status, 201);
    assert.equal(runtime.pauseCalls.at(-1), `thaw:${id}`);
  });

  it('kill of a paused sandbox removes it (runtime destroy), then 404', async () => {
    const { call, create, runtime } = setup();
    const id = await create();
    await call('POST', `/sandboxes/${id}/pause`);
    assert.equal((await call('DELETE', `/sandboxes/${id}`)).status, 204);
    assert.equal(runtime.sandboxes.has(id), false);
    assert.equal((await call('GET', `/sandboxes/${id}`)).status, 404);
    assert.equal((await call('POST', `/sandboxes/${id}/connect`, {})).status, 404);
  });

  it('onTimeout pause: at the end time it pauses instead of dying; lifecycle shows in info', async () => {
    const { call, create, sandboxes } = setup();
    const id = await create({ timeout: 1, autoPause: true, autoResume: { enabled: true } });
    assert.deepEqual((await body(await call('GET', `/sandboxes/${id}`))).lifecycle, { autoResume: true, onTimeout: 'pause' });
    await wait(1300);
    assert.equal((await body(await call('GET', `/sandboxes/${id}`))).state, 'paused');
    // autoResume: the proxy's wake resumes it with the create timeout.
    const woken = await sandboxes.wake(id);
    assert.equal(woken?.state, 'running');
    const plain = await create({ timeout: 1 });
    await wait(1300);
    assert.equal((await call('GET', `/sandboxes/${plain}`)).status, 404, 'onTimeout kill (default) still kills');
  });

  it('wake leaves a paused sandbox without autoResume paused', async () => {
    const { call, create, sandboxes } = setup();
    const id = await create({ autoPause: true });
    await call('POST', `/sandboxes/${id}/pause`);
    assert.equal(await sandboxes.wake(id), undefined);
    assert.equal(sandboxes.pauseTier(id), 'memory');
  });

  it('pause with memory: false stops the sandbox keeping its filesystem; traffic does not wake it', async () => {
    const { call, create, runtime, sandboxes } = setup();
    const id = await create({ autoPause: true, autoResume: { enabled: true } });
    assert.equal((await call('POST', `/sandboxes/${id}/pause`, { memory: false })).status, 204);
    assert.deepEqual(runtime.pauseCalls, [`stop:${id}`]);
    assert.equal(sandboxes.pauseTier(id), 'filesystem');
    assert.equal((await body(await call('GET', `/sandboxes/${id}`))).state, 'paused');
    assert.equal((await call('POST', `/sandboxes/${id}/pause`, { memory: false })).status, 409);
    assert.equal(await sandboxes.wake(id), undefined, 'a filesystem-only pause is resumed by connect only');
    assert.equal((await call('POST', `/sandboxes/${id}/pause`, { memory: 'no' })).status, 400);
  });

  it('lifecycle keepMemory: false pauses at the timeout without the memory', async () => {
    const { create, runtime, sandboxes } = setup();
    const id = await create({ timeout: 1, autoPause: true, autoPauseMemory: false });
    // The reaper runs on real timers (as the onTimeout test above): past the end time, then polled.
    await wait(1100);
    for (let i = 0; i < 100 && sandboxes.pauseTier(id) === undefined; i++) await wait(20);
    assert.equal(sandboxes.pauseTier(id), 'filesystem');
    assert.deepEqual(runtime.pauseCalls, [`stop:${id}`]);
  });

  it('concurrent resumes of one paused sandbox resume it once', async () => {
    const { call, create, runtime } = setup();
    const id = await create();
    await call('POST', `/sandboxes/${id}/pause`);
    const statuses = await Promise.all([1, 2, 3].map(() => Promise.resolve(call('POST', `/v2/sandboxes/${id}/connect`, {})).then((r) => r.status)));
    assert.deepEqual(statuses.sort(), [200, 200, 201]);
    assert.equal(runtime.pauseCalls.filter((c) => c.startsWith('thaw')).length, 1);
  });
});
