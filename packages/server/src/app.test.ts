import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ENVD_VERSION } from '@sandboxd/protocol';
import { createApp } from './app.js';
import { createApiKeyStore } from './auth/api-keys.js';
import { createSandboxService } from './sandboxes/sandbox-service.js';
import { openDatabase } from './store/database.js';
import { createSandboxRepo } from './store/sandbox-repo.js';
import { FakeRuntime } from './testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from './testing/harness.js';

function setup(runtime = new FakeRuntime()) {
  const db = openDatabase(':memory:');
  const apiKeys = createApiKeyStore(db, TEST_API_KEY);
  const repo = createSandboxRepo(db);
  const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo, logger: silentLogger, createTimeoutMs: 5000 });
  const app = createApp({ sandboxes, apiKeys, logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600 });
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  return { app, call, runtime, sandboxes, apiKeys, repo };
}

async function json(res: Response): Promise<any> {
  return res.json();
}

async function assertError(res: Response, status: number, pattern?: RegExp): Promise<void> {
  assert.equal(res.status, status);
  const body = await json(res);
  assert.equal(body.code, status);
  assert.equal(typeof body.message, 'string');
  if (pattern) assert.match(body.message, pattern);
}

const runtimes: FakeRuntime[] = [];
const fresh = () => {
  const s = setup();
  runtimes.push(s.runtime);
  return s;
};
after(async () => {
  for (const r of runtimes) await r.close();
});

describe('REST auth', () => {
  it('rejects a missing or wrong X-API-KEY with 401 in E2B shape', async () => {
    const { app, call } = fresh();
    await assertError(await app.request('/v2/sandboxes'), 401, /X-API-KEY/);
    await assertError(await call('GET', '/v2/sandboxes', undefined, { 'x-api-key': `e2b_${'f'.repeat(40)}` }), 401);
    assert.equal((await call('GET', '/v2/sandboxes')).status, 200);
  });

  it('accepts keys created in the store and stops accepting revoked ones', async () => {
    const { call, apiKeys } = fresh();
    const { id, key } = apiKeys.create('test');
    assert.equal((await call('GET', '/v2/sandboxes', undefined, { 'x-api-key': key })).status, 200);
    apiKeys.revoke(id);
    assert.equal((await call('GET', '/v2/sandboxes', undefined, { 'x-api-key': key })).status, 401);
  });
});

describe('REST health', () => {
  it('answers GET /health with 204 and no body, without an API key (E2B spec)', async () => {
    const { app, call } = fresh();
    const res = await app.request('/health');
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    const keyed = await call('GET', '/health');
    assert.equal(keyed.status, 204);
    const wrongKey = await app.request('/health', { headers: { 'x-api-key': `e2b_${'f'.repeat(40)}` } });
    assert.equal(wrongKey.status, 204);
    // Other routes still need the key.
    await assertError(await app.request('/healthz'), 401);
    await assertError(await app.request('/v2/sandboxes'), 401);
  });
});

describe('REST create', () => {
  it('creates via /v2/sandboxes with 201 and every Sandbox key, always with an access token', async () => {
    const { call, runtime } = fresh();
    const res = await call('POST', '/v2/sandboxes', { templateID: 'base', metadata: { a: 'b' }, envVars: { X: '1' }, timeout: 120 });
    assert.equal(res.status, 201);
    const body = await json(res);
    assert.match(body.sandboxID, /^i[a-z0-9]{20}$/);
    assert.equal(body.templateID, 'tbase0000000000000001');
    assert.equal(body.clientID, '6532622b');
    assert.equal(body.envdVersion, ENVD_VERSION);
    assert.equal(body.domain, 'sandboxd.test');
    assert.equal(body.trafficAccessToken, null);
    assert.equal(typeof body.envdAccessToken, 'string');
    assert.ok(body.envdAccessToken.length >= 32);
    const spec = runtime.sandboxes.get(body.sandboxID)!.spec;
    assert.deepEqual(spec.agentConfig.envVars, { X: '1' });
    assert.equal(spec.agentConfig.accessToken, body.envdAccessToken);
    assert.equal(spec.rootfsPath, '/nonexistent/base');
    assert.deepEqual(spec.egress, { allowInternetAccess: true, allowOut: [], denyOut: [] });
  });

  it('v1: token when secure is true or absent, none when secure is false', async () => {
    const { call, runtime } = fresh();
    const secured = await json(await call('POST', '/sandboxes', { templateID: 'base', secure: true }));
    assert.equal(typeof secured.envdAccessToken, 'string');
    const absent = await json(await call('POST', '/sandboxes', { templateID: 'base' }));
    assert.equal(typeof absent.envdAccessToken, 'string');
    const res = await call('POST', '/sandboxes', { templateID: 'base', secure: false });
    assert.equal(res.status, 201);
    const open = await json(res);
    assert.equal('envdAccessToken' in open, false);
    assert.equal(runtime.sandboxes.get(open.sandboxID)!.spec.agentConfig.accessToken, null);
  });

  it('boots the kernels at start only for sandboxes created as a code-interpreter template', async () => {
    const { call, runtime } = fresh();
    const plain = await json(await call('POST', '/v2/sandboxes', { templateID: 'base' }));
    const code = await json(await call('POST', '/v2/sandboxes', { templateID: 'code-interpreter-v1' }));
    assert.equal(runtime.sandboxes.get(plain.sandboxID)!.spec.agentConfig.bootKernels, false);
    assert.equal(runtime.sandboxes.get(code.sandboxID)!.spec.agentConfig.bootKernels, true);
  });

  it('passes network policy and internet access to the runtime', async () => {
    const { call, runtime } = fresh();
    const body = await json(
      await call('POST', '/v2/sandboxes', { templateID: 'code-interpreter-v1', allow_internet_access: false, network: { allowOut: ['10.0.0.0/8', '1.1.1.1'], denyOut: ['::1'] } }),
    );
    const spec = runtime.sandboxes.get(body.sandboxID)!.spec;
    assert.deepEqual(spec.egress, { allowInternetAccess: false, allowOut: ['10.0.0.0/8', '1.1.1.1'], denyOut: ['::1'] });
    assert.equal(spec.limits.memoryMB, 1024);
  });

  it('answers bad input with 4xx in E2B shape and keeps working', async () => {
    const { call, runtime } = fresh();
    await assertError(await call('POST', '/v2/sandboxes', '{"templateID": '), 400, /not valid JSON/);
    await assertError(await call('POST', '/v2/sandboxes', '[1,2]'), 400);
    await assertError(await call('POST', '/v2/sandboxes', {}), 400, /templateID/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'nope' }), 404, /"nope" not found; known templates: base, tbase0000000000000001, code-interpreter-v1/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: -1 }), 400, /timeout must be greater than 0/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 3601 }), 400, /at most 3600/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 1.5 }), 400, /whole number/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: '60' }), 400);
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', metadata: tooMany }), 400, /metadata/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', metadata: { k: 'v'.repeat(1025) } }), 400, /metadata/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', metadata: { k: 1 } }), 400, /metadata/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', envVars: { 'A=B': 'x' } }), 400, /envVars/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', envVars: { A: 'x'.repeat(40000) } }), 400, /envVars/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { denyOut: ['example.com'] } }), 400, /network.denyOut.*domain entries \(example.com\) are only allowed in allowOut/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { allowOut: ['-bad-.example'] } }), 400, /network.allowOut.*or a domain name/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { allowOut: ['not an address'] } }), 400, /IP address, a CIDR/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { allowPublicTraffic: 'no' } }), 400, /allowPublicTraffic must be a boolean/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { maskRequestHost: 'bad host/' } }), 400, /maskRequestHost must be a host name/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { egressProxy: { address: 'p:1080' } } }), 400, /egressProxy/);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { denyOut: ['10.0.0.0/33'] } }), 400, /network.denyOut/);
    await assertError(await call('POST', '/v2/sandboxes', JSON.stringify({ templateID: 'base', pad: 'x'.repeat(1024 * 1024) })), 413);
    assert.equal(runtime.sandboxes.size, 0);
    assert.equal((await call('POST', '/v2/sandboxes', { templateID: 'base' })).status, 201);
  });

  it('reports a runtime failure as 500 and leaves no listed sandbox', async () => {
    const runtime = new FakeRuntime({ failCreate: new Error('runsc exploded') });
    runtimes.push(runtime);
    const { call, repo } = setup(runtime);
    await assertError(await call('POST', '/v2/sandboxes', { templateID: 'base' }), 500, /failed to start: runsc exploded/);
    assert.deepEqual(await json(await call('GET', '/v2/sandboxes')), []);
    assert.equal(repo.byState(['failed']).length, 1);
  });
});

describe('REST sandbox resource', () => {
  it('returns SandboxDetail with every required key, 404 JSON for unknown ids', async () => {
    const { call } = fresh();
    const created = await json(await call('POST', '/v2/sandboxes', { templateID: 'base', metadata: { owner: 'me' }, timeout: 60 }));
    const res = await call('GET', `/sandboxes/${created.sandboxID}`);
    assert.equal(res.status, 200);
    const detail = await json(res);
    for (const key of ['sandboxID', 'templateID', 'clientID', 'startedAt', 'endAt', 'envdVersion', 'cpuCount', 'memoryMB', 'diskSizeMB', 'state']) {
      assert.ok(key in detail, key);
    }
    assert.equal(detail.state, 'running');
    assert.equal(detail.alias, 'base');
    assert.deepEqual(detail.metadata, { owner: 'me' });
    assert.equal(detail.envdAccessToken, created.envdAccessToken);
    assert.equal(detail.cpuCount, 2);
    assert.equal(detail.memoryMB, 512);
    assert.equal(detail.diskSizeMB, 1024);
    const span = Date.parse(detail.endAt) - Date.parse(detail.startedAt);
    assert.ok(span >= 59_000 && span <= 61_000, String(span));
    await assertError(await call('GET', '/sandboxes/inotthere000000000000'), 404, /not found/);
  });

  it('kills with 204, then 404 for kill, get and timeout', async () => {
    const { call, runtime } = fresh();
    const { sandboxID } = await json(await call('POST', '/v2/sandboxes', { templateID: 'base' }));
    const res = await call('DELETE', `/sandboxes/${sandboxID}`);
    assert.equal(res.status, 204);
    assert.equal(runtime.sandboxes.has(sandboxID), false);
    await assertError(await call('DELETE', `/sandboxes/${sandboxID}`), 404);
    await assertError(await call('GET', `/sandboxes/${sandboxID}`), 404);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/timeout`, { timeout: 10 }), 404);
  });

  it('sets the timeout (may shorten); connect extends but never shortens', async () => {
    const { call } = fresh();
    const { sandboxID, envdAccessToken } = await json(await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 600 }));
    const endAt = async () => Date.parse((await json(await call('GET', `/sandboxes/${sandboxID}`))).endAt);
    assert.equal((await call('POST', `/sandboxes/${sandboxID}/timeout`, { timeout: 30 })).status, 204);
    const shortened = await endAt();
    assert.ok(Math.abs(shortened - (Date.now() + 30_000)) < 2000);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/timeout`, { timeout: -5 }), 400);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/timeout`, {}), 400, /timeout/);

    const v2 = await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: 10 });
    assert.equal(v2.status, 200);
    const connected = await json(v2);
    assert.equal(connected.sandboxID, sandboxID);
    assert.equal(connected.envdAccessToken, envdAccessToken);
    assert.equal(connected.domain, 'sandboxd.test');
    assert.equal(await endAt(), shortened, 'connect must not shorten');
    assert.equal((await call('POST', `/sandboxes/${sandboxID}/connect`, { timeout: 900 })).status, 200);
    assert.ok((await endAt()) > Date.now() + 890_000);
    assert.equal((await call('POST', `/v2/sandboxes/${sandboxID}/connect`, {})).status, 200);
    await assertError(await call('POST', '/v2/sandboxes/inotthere000000000000/connect', {}), 404);
  });

  it('refreshes (E2B /refreshes): 204, extends to now + duration, never shortens, 15 s floor and default', async () => {
    const { call } = fresh();
    const { sandboxID } = await json(await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 5 }));
    const endAt = async () => Date.parse((await json(await call('GET', `/sandboxes/${sandboxID}`))).endAt);
    const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 2000, `${actual} ≈ ${expected}`);

    // No body, an empty object and a duration below the floor all extend to now + 15 s.
    const noBody = await call('POST', `/sandboxes/${sandboxID}/refreshes`);
    assert.equal(noBody.status, 204);
    assert.equal(await noBody.text(), '');
    near(await endAt(), Date.now() + 15_000);
    assert.equal((await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: 0 })).status, 204);
    near(await endAt(), Date.now() + 15_000);

    assert.equal((await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: 600 })).status, 204);
    const extended = await endAt();
    near(extended, Date.now() + 600_000);
    assert.equal((await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: 60 })).status, 204);
    assert.equal(await endAt(), extended, 'refresh must not shorten');
    assert.equal((await call('POST', `/sandboxes/${sandboxID}/refreshes`, {})).status, 204);
    assert.equal(await endAt(), extended, 'refresh must not shorten');
    assert.equal((await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: 3600 })).status, 204);
    near(await endAt(), Date.now() + 3_600_000);

    await assertError(await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: 3601 }), 400, /duration/);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: -1 }), 400, /duration/);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: 1.5 }), 400, /duration/);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: '60' }), 400, /duration/);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/refreshes`, '{'), 400, /JSON/);
    await assertError(await call('POST', '/sandboxes/inotthere000000000000/refreshes', { duration: 60 }), 404);
    await assertError(await call('POST', `/sandboxes/${sandboxID}/refreshes`, { duration: 60 }, { 'x-api-key': '' }), 401);
  });

  it('serves metrics with all nine keys and logs in v1 and v2 shapes', async () => {
    const { call } = fresh();
    const { sandboxID } = await json(await call('POST', '/v2/sandboxes', { templateID: 'base' }));
    const metrics = await json(await call('GET', `/sandboxes/${sandboxID}/metrics`));
    assert.equal(metrics.length, 1);
    assert.deepEqual(Object.keys(metrics[0]).sort(), ['cpuCount', 'cpuUsedPct', 'diskTotal', 'diskUsed', 'memCache', 'memTotal', 'memUsed', 'timestamp', 'timestampUnix'].sort());
    assert.equal(metrics[0].memTotal, 512 * 2 ** 20);
    const v2 = await json(await call('GET', `/v2/sandboxes/${sandboxID}/logs`));
    assert.equal(v2.logs.length, 3);
    assert.deepEqual(v2.logs[0], { timestamp: '2030-01-01T00:00:00.000Z', level: 'info', message: 'agent started', fields: { port: '49983' } });
    assert.equal(v2.logs[1].level, 'error');
    const errorsOnly = await json(await call('GET', `/v2/sandboxes/${sandboxID}/logs?level=error`));
    assert.deepEqual(errorsOnly.logs.map((l: { message: string }) => l.message), ['something failed']);
    const searched = await json(await call('GET', `/v2/sandboxes/${sandboxID}/logs?search=plain&limit=5`));
    assert.deepEqual(searched.logs.map((l: { message: string }) => l.message), ['plain line']);
    await assertError(await call('GET', `/v2/sandboxes/${sandboxID}/logs?level=loud`), 400);
    const v1 = await json(await call('GET', `/sandboxes/${sandboxID}/logs`));
    assert.equal(v1.logs[0].line, 'agent started');
    assert.equal(v1.logEntries.length, 3);
    // E2B answers from its metrics store: no samples of an unknown sandbox is [], not 404.
    assert.deepEqual(await json(await call('GET', '/sandboxes/inotthere000000000000/metrics')), []);
    await assertError(await call('GET', '/v2/sandboxes/inotthere000000000000/logs'), 404);
  });

  it('answers fork and snapshots of an unknown sandbox with 404 in E2B shape, no snapshots as [], unknown routes with 404', async () => {
    const { call } = fresh();
    await assertError(await call('POST', '/sandboxes/inotthere000000000000/fork', {}), 404);
    await assertError(await call('POST', '/sandboxes/inotthere000000000000/snapshots', {}), 404);
    assert.deepEqual(await json(await call('GET', '/snapshots')), []);
    await assertError(await call('GET', '/nothing/here'), 404, /no route/);
  });
});

describe('REST list', () => {
  it('startedAfter is inclusive: a sandbox\'s own startedAt lists it (E2B "at or after")', async () => {
    const { call } = fresh();
    const first = await json(await call('POST', '/v2/sandboxes', { templateID: 'base' }));
    await new Promise((r) => setTimeout(r, 5));
    const second = await json(await call('POST', '/v2/sandboxes', { templateID: 'base' }));
    const detail = await json(await call('GET', `/sandboxes/${second.sandboxID}`));
    const listed = await json(await call('GET', `/v2/sandboxes?startedAfter=${encodeURIComponent(detail.startedAt)}`));
    assert.deepEqual(listed.map((s: { sandboxID: string }) => s.sandboxID), [second.sandboxID]);
    const firstAt = (await json(await call('GET', `/sandboxes/${first.sandboxID}`))).startedAt;
    const both = await json(await call('GET', `/v2/sandboxes?startedAfter=${encodeURIComponent(firstAt)}&order=asc`));
    assert.deepEqual(both.map((s: { sandboxID: string }) => s.sandboxID), [first.sandboxID, second.sandboxID]);
  });

  it('filters by metadata and state, pages with X-Next-Token, serves the v1 list', async () => {
    const { call } = fresh();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const body = await json(await call('POST', '/v2/sandboxes', { templateID: 'base', metadata: { group: i % 2 === 0 ? 'even' : 'odd', 'with space': 'a b' } }));
      ids.push(body.sandboxID);
      await new Promise((r) => setTimeout(r, 2));
    }
    const encoded = encodeURIComponent(new URLSearchParams({ group: 'even', [encodeURIComponent('with space')]: encodeURIComponent('a b') }).toString());
    const even = await call('GET', `/v2/sandboxes?metadata=${encoded}&state=running,paused`);
    assert.equal(even.status, 200);
    const evenItems = await json(even);
    assert.deepEqual(evenItems.map((s: { sandboxID: string }) => s.sandboxID).sort(), [ids[0], ids[2], ids[4]].sort());
    for (const key of ['sandboxID', 'templateID', 'clientID', 'startedAt', 'endAt', 'envdVersion', 'cpuCount', 'memoryMB', 'diskSizeMB', 'state']) {
      assert.ok(key in evenItems[0], key);
    }
    assert.deepEqual(await json(await call('GET', '/v2/sandboxes?state=paused')), []);
    assert.equal((await json(await call('GET', '/v2/sandboxes?state=running&state=paused'))).length, 5);

    const page1 = await call('GET', '/v2/sandboxes?limit=2');
    const token = page1.headers.get('x-next-token');
    assert.ok(token);
    const page2 = await call('GET', `/v2/sandboxes?limit=2&nextToken=${encodeURIComponent(token)}`);
    const page3 = await call('GET', `/v2/sandboxes?limit=2&nextToken=${encodeURIComponent(page2.headers.get('x-next-token')!)}`);
    assert.equal(page3.headers.get('x-next-token'), null);
    const paged = [...(await json(page1)), ...(await json(page2)), ...(await json(page3))].map((s: { sandboxID: string }) => s.sandboxID);
    assert.deepEqual(paged, [...ids].reverse());

    await assertError(await call('GET', '/v2/sandboxes?limit=0'), 400, /limit/);
    await assertError(await call('GET', '/v2/sandboxes?limit=101'), 400, /limit/);
    await assertError(await call('GET', '/v2/sandboxes?state=sleeping'), 400, /state/);

    const v1 = await json(await call('GET', `/sandboxes?metadata=${encodeURIComponent('group=odd')}`));
    assert.deepEqual(v1.map((s: { sandboxID: string }) => s.sandboxID).sort(), [ids[1], ids[3]].sort());

    await call('DELETE', `/sandboxes/${ids[0]}`);
    assert.equal((await json(await call('GET', `/v2/sandboxes?state=running&metadata=${encoded}`))).length, 2);
  });
});
