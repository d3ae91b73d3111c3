import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { AdoptRequest } from '@sandboxd/protocol';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { FakeRuntime, defaultFakeHandler } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';

const runtimes: FakeRuntime[] = [];
after(async () => {
  for (const runtime of runtimes) await runtime.close();
});

/** A fake whose agents accept `POST /adopt` (as a restored agent does), recording each request. */
function setup(options: { forkParallelism?: number; snapshotRetryDelaysMs?: number[] } = {}) {
  const adopted: AdoptRequest[] = [];
  const runtime = new FakeRuntime({
    handler: (sandbox, port, req, res) => {
      if (req.url !== '/adopt') return defaultFakeHandler(sandbox, port, req, res);
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => {
        const request = JSON.parse(text) as AdoptRequest;
        adopted.push(request);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ generation: request.generation, sandboxId: request.sandboxId, applied: true }));
      });
    },
  });
  runtimes.push(runtime);
  const db = openDatabase(':memory:');
  const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000, ...options });
  const app = createApp({
    sandboxes,
    apiKeys: createApiKeyStore(db, TEST_API_KEY),
    logger: silentLogger,
    domain: 'sandboxd.test',
    defaultTimeoutSec: 300,
    maxTimeoutSec: 3600,
  });
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await app.request(path, {
      method,
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };
  const create = async (body: Record<string, unknown> = {}): Promise<string> => {
    const res = await call('POST', '/v2/sandboxes', { templateID: 'base', ...body });
    assert.equal(res.status, 201);
    return res.json.sandboxID as string;
  };
  return { runtime, sandboxes, adopted, call, create };
}

describe('snapshots and fork (REST)', () => {
  it('snapshot 201 with E2B SnapshotInfo; the sandbox runs on; list filters; a create from it adopts a new identity', async () => {
    const { runtime, call, create, adopted } = setup();
    const id = await create({ metadata: { a: 'b' } });
    const taken = await call('POST', `/sandboxes/${id}/snapshots`, { name: 'warm' });
    assert.equal(taken.status, 201);
    assert.deepEqual(taken.json, { snapshotID: 'warm:default', names: ['warm:default'] });
    assert.deepEqual(runtime.pauseCalls, [`snapshot:${id}`], 'a running sandbox is snapshotted as it runs (the runtime freezes it for the copy)');
    assert.equal((await call('GET', `/sandboxes/${id}`)).json.state, 'running');
    assert.deepEqual((await call('GET', `/snapshots?sandboxID=${id}`)).json, [taken.json]);
    assert.deepEqual((await call('GET', '/snapshots?sandboxID=iother00000000000000')).json, []);
    assert.deepEqual((await call('GET', '/snapshots?name=warm')).json, [taken.json]);
    const child = await call('POST', '/v2/sandboxes', { templateID: 'warm:default', envVars: { K: 'v' }, secure: true });
    assert.equal(child.status, 201);
    assert.notEqual(child.json.sandboxID, id);
    assert.equal(typeof child.json.envdAccessToken, 'string');
    assert.equal(adopted.length, 1);
    assert.equal(adopted[0]?.sandboxId, child.json.sandboxID);
    assert.equal(adopted[0]?.accessToken, child.json.envdAccessToken);
    assert.equal(adopted[0]?.envVars['K'], 'v');
  });

  it('a second snapshot of the same name replaces the first; DELETE /templates/{id} deletes it (204, then 404)', async () => {
    const { runtime, call, create } = setup();
    const id = await create();
    await call('POST', `/sandboxes/${id}/snapshots`, { name: 'n' });
    const first = [...runtime.snapshots.keys()];
    await call('POST', `/sandboxes/${id}/snapshots`, { name: 'n' });
    assert.equal(runtime.snapshots.size, 1);
    assert.notDeepEqual([...runtime.snapshots.keys()], first);
    assert.equal((await call('GET', '/snapshots')).json.length, 1);
    assert.equal((await call('DELETE', '/templates/n:default')).status, 204);
    assert.equal(runtime.snapshots.size, 0);
    assert.equal((await call('DELETE', '/templates/n:default')).status, 404);
    assert.equal((await call('POST', '/v2/sandboxes', { templateID: 'n' })).status, 404);
  });

  it('snapshot of an unknown sandbox 404; a bad name 400', async () => {
    const { call, create } = setup();
    assert.equal((await call('POST', '/sandboxes/iunknown0000000000000/snapshots', {})).status, 404);
    const id = await create();
    assert.equal((await call('POST', `/sandboxes/${id}/snapshots`, { name: 'a b' })).status, 400);
  });

  it('fork: 201 with one { sandbox } per count, the fork snapshot deleted after; unknown parent 404; count over 100 is 400', async () => {
    const { runtime, call, create } = setup();
    const id = await create({ metadata: { role: 'parent' } });
    const forked = await call('POST', `/sandboxes/${id}/fork`, { count: 2, timeout: 60 });
    assert.equal(forked.status, 201);
    assert.equal(forked.json.length, 2);
    const ids = forked.json.map((r: any) => r.sandbox.sandboxID);
    assert.equal(new Set([...ids, id]).size, 3);
    assert.equal(runtime.snapshots.size, 0);
    for (const child of ids) assert.deepEqual((await call('GET', `/sandboxes/${child}`)).json.metadata, { role: 'parent' });
    assert.equal((await call('GET', `/sandboxes/${id}`)).json.state, 'running');
    assert.equal((await call('POST', '/sandboxes/iunknown0000000000000/fork', {})).status, 404);
    assert.equal((await call('POST', `/sandboxes/${id}/fork`, { count: 101 })).status, 400);
  });

  it('fork results carry each failed fork as an E2B error body', async () => {
    const { runtime, call, create } = setup();
    const id = await create();
    runtime.options.failCreate = new Error('no room');
    const forked = await call('POST', `/sandboxes/${id}/fork`, { count: 1 });
    assert.equal(forked.status, 201);
    assert.equal(forked.json[0].error.code, 500);
    assert.match(forked.json[0].error.message, /no room/);
  });

  it('fork children are restored as many at once as the parallelism allows, results in order', async () => {
    const { runtime, call, create, adopted } = setup({ forkParallelism: 2 });
    const id = await create();
    let inFlight = 0;
    let most = 0;
    const restore = runtime.createFromSnapshot.bind(runtime);
    runtime.createFromSnapshot = async (...args) => {
      inFlight++;
      most = Math.max(most, inFlight);
      try {
        await new Promise((r) => setTimeout(r, 30));
        return await restore(...args);
      } finally {
        inFlight--;
      }
    };
    const forked = await call('POST', `/sandboxes/${id}/fork`, { count: 5, timeout: 60 });
    assert.equal(forked.status, 201);
    const ids = forked.json.map((r: any) => r.sandbox.sandboxID as string);
    assert.equal(new Set(ids).size, 5);
    assert.equal(most, 2, 'two restores at once, never more');
    // Each child adopted its own identity, with a daemon secret of its own.
    const children = adopted.filter((a) => ids.includes(a.sandboxId));
    assert.equal(children.length, 5);
    assert.equal(new Set(children.map((a) => a.loopbackSecret)).size, 5);
    assert.deepEqual(children.map((a) => a.hostname).sort(), [...ids].sort());
  });

  it('a snapshot runsc refuses is retried with the sandbox running in between; a refusal that persists is a 500, the sandbox unharmed', async () => {
    const { runtime, call, create } = setup({ snapshotRetryDelaysMs: [10, 10] });
    const id = await create();
    const refusal = new SandboxdError(ErrorCode.RUNTIME_FAILURE, 'endpoint cannot be saved in connected state');
    let attempts = 0;
    const take = runtime.snapshot.bind(runtime);
    runtime.snapshot = async (...args) => {
      attempts++;
      if (attempts < 3) throw refusal;
      return take(...args);
    };
    const taken = await call('POST', `/sandboxes/${id}/snapshots`, {});
    assert.equal(taken.status, 201);
    assert.equal(attempts, 3);
    const calls = runtime.pauseCalls.filter((c) => c.endsWith(id)).map((c) => c.split(':')[0]);
    assert.deepEqual(calls, ['snapshot'], 'the runtime freezes and thaws a running sandbox itself; the refused attempts never reached the fake');
    attempts = -10;
    const refused = await call('POST', `/sandboxes/${id}/snapshots`, {});
    assert.equal(refused.status, 500);
    assert.equal(attempts, -7, 'three attempts, then the refusal');
    assert.equal((await call('GET', `/sandboxes/${id}`)).json.state, 'running');
  });
});
