import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { FakeRuntime } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';

const runtimes: FakeRuntime[] = [];
const homes: string[] = [];
after(async () => {
  for (const r of runtimes) await r.close();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

function setup(runtime = new FakeRuntime(), home = ':memory:') {
  runtimes.push(runtime);
  const db = openDatabase(home);
  const repo = createSandboxRepo(db);
  const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo, logger: silentLogger, createTimeoutMs: 5000 });
  const app = createApp({ sandboxes, apiKeys: createApiKeyStore(db, TEST_API_KEY), logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600 });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const create = async (body: Record<string, unknown> = {}): Promise<string> => {
    const res = await call('POST', '/v2/sandboxes', { templateID: 'base', ...body });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as { sandboxID: string }).sandboxID;
  };
  const detail = async (id: string) => (await (await call('GET', `/sandboxes/${id}`)).json()) as { allowInternetAccess: boolean; network: { allowOut: string[]; denyOut: string[] } };
  return { call, create, detail, runtime, sandboxes, repo, db };
}

async function assertError(res: Response, status: number, pattern?: RegExp): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text) as { code: unknown; message: unknown };
  assert.equal(body.code, status);
  assert.equal(typeof body.message, 'string');
  if (pattern) assert.match(body.message as string, pattern);
}

describe('PUT /sandboxes/{id}/network', () => {
  it('answers 204 with no body, applies the policy in the runtime, shows it in getInfo and stores it', async () => {
    const { call, create, detail, runtime, repo } = setup();
    const id = await create();
    const res = await call('PUT', `/sandboxes/${id}/network`, { allowOut: ['1.1.1.1', '8.8.8.0/24'], denyOut: ['0.0.0.0/0'] });
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    const expected = { allowInternetAccess: true, allowOut: ['1.1.1.1', '8.8.8.0/24'], denyOut: ['0.0.0.0/0'] };
    assert.deepEqual(runtime.egressUpdates, [{ sandboxId: id, egress: expected }]);
    assert.deepEqual(runtime.sandboxes.get(id)?.spec.egress, expected);
    const info = await detail(id);
    assert.equal(info.allowInternetAccess, true);
    assert.deepEqual(info.network, { allowOut: expected.allowOut, denyOut: expected.denyOut, allowPublicTraffic: true });
    assert.deepEqual(repo.get(id)?.egress, expected);
  });

  it('replaces the whole policy: omitted fields are cleared, allow_internet_access false turns internet off', async () => {
    const { call, create, repo } = setup();
    const id = await create({ allow_internet_access: false, network: { allowOut: ['9.9.9.9'], denyOut: ['1.0.0.0/8'] } });
    assert.equal((await call('PUT', `/sandboxes/${id}/network`, { denyOut: ['2.2.2.2'] })).status, 204);
    assert.deepEqual(repo.get(id)?.egress, { allowInternetAccess: true, allowOut: [], denyOut: ['2.2.2.2'] });
    assert.equal((await call('PUT', `/sandboxes/${id}/network`, { allow_internet_access: false, allowOut: ['3.3.3.3'] })).status, 204);
    assert.deepEqual(repo.get(id)?.egress, { allowInternetAccess: false, allowOut: ['3.3.3.3'], denyOut: [] });
    // What the SDK sends for updateNetwork({}): everything cleared, internet on.
    assert.equal((await call('PUT', `/sandboxes/${id}/network`, {})).status, 204);
    assert.deepEqual(repo.get(id)?.egress, { allowInternetAccess: true, allowOut: [], denyOut: [] });
    // null is absent, as on create; empty rules and a null egressProxy ask for nothing.
    assert.equal((await call('PUT', `/sandboxes/${id}/network`, { allowOut: null, denyOut: ['4.4.4.4'], rules: {}, egressProxy: null, allow_internet_access: null })).status, 204);
    assert.deepEqual(repo.get(id)?.egress, { allowInternetAccess: true, allowOut: [], denyOut: ['4.4.4.4'] });
  });

  it('validates like create: 400 in E2B shape, naming the field, and nothing changes', async () => {
    const { call, create, runtime, repo } = setup();
    const id = await create({ network: { denyOut: ['5.5.5.5'] } });
    const before = repo.get(id)?.egress;
    const path = `/sandboxes/${id}/network`;
    await assertError(await call('PUT', path, { denyOut: ['example.com'] }), 400, /denyOut.*domain entries \(example.com\) are only allowed in allowOut/);
    await assertError(await call('PUT', path, { allowOut: ['exa mple.com'] }), 400, /allowOut.*must be an IP address, a CIDR .* or a domain name/);
    await assertError(await call('PUT', path, { denyOut: ['10.0.0.0/33'] }), 400, /denyOut.*IP address or CIDR/);
    await assertError(await call('PUT', path, { denyOut: ['not an address'] }), 400, /denyOut/);
    await assertError(await call('PUT', path, { allowOut: '1.1.1.1' }), 400, /allowOut/);
    await assertError(await call('PUT', path, { allowOut: Array.from({ length: 257 }, (_, i) => `1.1.${i >> 8}.${i & 255}`) }), 400, /allowOut/);
    await assertError(await call('PUT', path, { egressProxy: { address: 'proxy.example.com:1080' } }), 400, /egressProxy \(SOCKS5 egress proxy\) is not supported/);
    await assertError(await call('PUT', path, { rules: { 'api.example.com': [{ transform: { headers: { 'x-k': 'v' } } }] } }), 400, /rules \(per-domain request transforms\) is not supported/);
    await assertError(await call('PUT', path, { allow_internet_access: 'no' }), 400, /allow_internet_access/);
    await assertError(await call('PUT', path, '{not json'), 400, /not valid JSON/);
    await assertError(await call('PUT', path, 'null'), 400);
    await assertError(await call('PUT', path), 400, /body is required/);
    assert.deepEqual(runtime.egressUpdates, []);
    assert.deepEqual(repo.get(id)?.egress, before);
  });

  it('404 in E2B shape for an unknown or killed sandbox', async () => {
    const { call, create, runtime } = setup();
    await assertError(await call('PUT', '/sandboxes/doesnotexist0000000/network', { denyOut: ['0.0.0.0/0'] }), 404, /doesnotexist0000000/);
    const id = await create();
    assert.equal((await call('DELETE', `/sandboxes/${id}`)).status, 204);
    await assertError(await call('PUT', `/sandboxes/${id}/network`, { denyOut: ['0.0.0.0/0'] }), 404, /not found/);
    assert.deepEqual(runtime.egressUpdates, []);
  });

  it('a runtime failure answers 500 and leaves the old policy recorded', async () => {
    const { call, create, detail, runtime, repo } = setup();
    const id = await create({ network: { allowOut: ['6.6.6.6'] } });
    runtime.failUpdateEgress = new Error('nft exploded');
    await assertError(await call('PUT', `/sandboxes/${id}/network`, { denyOut: ['0.0.0.0/0'] }), 500, /nft exploded/);
    const old = { allowInternetAccess: true, allowOut: ['6.6.6.6'], denyOut: [] };
    assert.deepEqual(repo.get(id)?.egress, old);
    assert.deepEqual((await detail(id)).network, { allowOut: old.allowOut, denyOut: old.denyOut, allowPublicTraffic: true });
    assert.deepEqual(runtime.sandboxes.get(id)?.spec.egress, old);
  });

  it('concurrent updates of one sandbox apply one at a time, in call order; the last one wins', async () => {
    const { call, create, runtime, repo } = setup();
    const id = await create();
    const bodies = Array.from({ length: 5 }, (_, i) => ({ denyOut: [`7.7.7.${i}`] }));
    const statuses = await Promise.all(bodies.map(async (b) => (await call('PUT', `/sandboxes/${id}/network`, b)).status));
    assert.deepEqual(statuses, [204, 204, 204, 204, 204]);
    assert.deepEqual(runtime.egressUpdates.map((u) => u.egress.denyOut), bodies.map((b) => b.denyOut));
    assert.deepEqual(repo.get(id)?.egress.denyOut, ['7.7.7.4']);
  });

  it('the updated policy is what a restarted daemon adopts the sandbox with', async () => {
    const home = mkdtempSync(join(tmpdir(), 'sandboxd-netupd-'));
    homes.push(home);
    const runtime = new FakeRuntime();
    const first = setup(runtime, home);
    await first.sandboxes.start();
    const id = await first.create();
    assert.equal((await first.call('PUT', `/sandboxes/${id}/network`, { allow_internet_access: false, allowOut: ['1.1.1.1'] })).status, 204);
    first.sandboxes.stop();
    first.db.close();

    const second = setup(runtime, home);
    await second.sandboxes.start();
    assert.deepEqual(second.sandboxes.get(id).egress, { allowInternetAccess: false, allowOut: ['1.1.1.1'], denyOut: [] });
    const info = await second.detail(id);
    assert.equal(info.allowInternetAccess, false);
    assert.deepEqual(info.network, { allowOut: ["1.1.1.1"], denyOut: [], allowPublicTraffic: true });
    second.sandboxes.stop();
    second.db.close();
  });
});
