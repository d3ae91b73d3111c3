import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createSandboxService } from '../sandboxes/sandbox-service.js';
import type { CreateSandboxInput } from '../sandboxes/sandbox-service.js';
import { openDatabase } from '../store/database.js';
import { createSandboxRepo } from '../store/sandbox-repo.js';
import { AdoptingRuntime } from '../testing/adopting-runtime.js';
import { defaultTemplates, silentLogger, staticTemplates, tempHome, withTimeout } from '../testing/harness.js';
import type { TemplateInfo } from '../templates/template-store.js';
import { createWarmPool } from './warm-pool.js';
import type { WarmPool } from './warm-pool.js';

const until = async (what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

const input = (overrides: Partial<CreateSandboxInput> = {}): CreateSandboxInput => ({
  template: 'code-interpreter-v1',
  timeoutSec: 300,
  metadata: {},
  envVars: {},
  secure: false,
  allowInternetAccess: true,
  allowOut: [],
  denyOut: [],
  ...overrides,
});

interface Setup {
  runtime: AdoptingRuntime;
  pool: WarmPool;
  templates: TemplateInfo[];
  service: ReturnType<typeof createSandboxService>;
  ready(alias: string): number;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(sizes: Record<string, number>, options: { memoryBudgetMB?: number; withEnv?: boolean; refuseAdopt?: boolean; refillDelayMs?: number } = {}): Promise<Setup> {
  const runtime = new AdoptingRuntime();
  runtime.refuseAdopt = options.refuseAdopt ?? false;
  const templates = defaultTemplates().map((t) => (options.withEnv ? { ...t, env: { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' } } : t));
  const store = staticTemplates(templates);
  const pool = createWarmPool({
    runtime,
    templates: store,
    logger: silentLogger,
    sizes: new Map(Object.entries(sizes)),
    memoryBudgetMB: options.memoryBudgetMB ?? 4096,
    bootTimeoutMs: 5_000,
    retryDelayMs: 20,
    ...(options.refillDelayMs !== undefined ? { refillDelayMs: options.refillDelayMs } : {}),
  });
  const temp = tempHome();
  const db = openDatabase(temp.home);
  const service = createSandboxService({ runtime, templates: store, repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5_000, pool });
  await service.start();
  cleanups.push(async () => {
    service.stop();
    await pool.stop();
    await runtime.close();
    db.close();
    temp.remove();
  });
  pool.start();
  const ready = (alias: string): number => pool.depth().find((d) => d.template === alias)?.ready ?? 0;
  return { runtime, pool, templates, service, ready };
}

describe('warm pool', () => {
  it('fills every template to its size, one boot at a time, each warmed by an adopt of its own identity', async () => {
    const { runtime, pool, ready } = await setup({ 'code-interpreter-v1': 2, base: 1 });
    runtime.bootDelayMs = 0;
    await until('the pool to fill', () => ready('code-interpreter-v1') === 2 && ready('base') === 1);
    assert.equal(runtime.maxInFlight, 1, 'never two boots at once');
    assert.equal(runtime.sandboxes.size, 3);
    for (const [sandboxId, fake] of runtime.sandboxes) {
      assert.equal(fake.spec.agentConfig.accessToken, null);
      assert.equal(fake.spec.agentConfig.bootKernels, fake.spec.rootfsPath === '/nonexistent/ci');
      assert.ok(fake.spec.agentConfig.loopbackSecret, 'a daemon secret per pooled sandbox');
      assert.equal(pool.has(sandboxId), true);
      assert.deepEqual(runtime.adopted.get(sandboxId)?.map((a) => a.generation), [1]);
    }
    assert.deepEqual(
      pool.depth().map((d) => [d.template, d.ready, d.target]),
      [['code-interpreter-v1', 2, 2], ['base', 1, 1]],
    );
  });

  it('keeps within the memory budget, counting each pooled sandbox as measured once warm', async () => {
    // The fake measures 64 MiB per sandbox: a 150 MiB budget holds two.
    const { runtime, ready } = await setup({ base: 5 }, { memoryBudgetMB: 150 });
    await until('two pooled', () => ready('base') === 2);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(ready('base'), 2);
    assert.equal(runtime.boots, 2);
  });

  it('a budget below one sandbox keeps the pool empty; creates then start cold', async () => {
    const { runtime, service } = await setup({ base: 2 }, { memoryBudgetMB: 10 });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(runtime.boots, 0);
    const record = await service.create(input({ template: 'base' }));
    assert.equal(runtime.adopted.has(record.sandboxId), false, 'a cold sandbox needs no adopt');
  });

  it('a claim hands the pooled sandbox over with the request identity, then refills', async () => {
    const { runtime, pool, service, ready } = await setup({ 'code-interpreter-v1': 1 }, { withEnv: true });
    await until('one pooled', () => ready('code-interpreter-v1') === 1);
    const [pooledId] = [...runtime.sandboxes.keys()];
    const record = await service.create(input({ envVars: { FOO: 'bar' }, secure: true, metadata: { who: 'test' } }));
    assert.equal(record.sandboxId, pooledId, 'the id minted for the pooled sandbox');
    assert.equal(record.state, 'running');
    assert.equal(pool.has(record.sandboxId), false);
    assert.deepEqual(service.running().map((r) => r.sandboxId), [pooledId]);
    const adopts = runtime.adopted.get(record.sandboxId) ?? [];
    assert.equal(adopts.length, 2);
    assert.deepEqual(adopts[1], {
      generation: 2,
      sandboxId: pooledId,
      templateId: record.templateId,
      accessToken: record.accessToken,
      envVars: { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt', FOO: 'bar' },
      defaultUser: 'user',
    });
    assert.ok(record.accessToken);
    assert.equal(runtime.egressUpdates.length, 0, 'the default policy needs no firewall update');
    await until('the refill', () => ready('code-interpreter-v1') === 1);
    const [claimed] = pool.depth().map((d) => d.claims);
    assert.equal(claimed, 1);
  });

  it('a claim that leaves one ready refills after the delay; one that empties the pool refills at once', async () => {
    const { runtime, service, ready } = await setup({ base: 2 }, { refillDelayMs: 400 });
    runtime.bootDelayMs = 0;
    await until('two pooled', () => ready('base') === 2);
    const bootsBefore = runtime.boots;
    await service.create(input({ template: 'base' }));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(runtime.boots, bootsBefore, 'no refill while the claimed sandbox has its first moments');
    await until('the deferred refill', () => ready('base') === 2, 3_000);
    await service.create(input({ template: 'base' }));
    await service.create(input({ template: 'base' }));
    await until('a refill at once for the emptied pool', () => runtime.boots > bootsBefore + 1, 300);
  });

  it('a pooled sandbox boots as background work and is foreground once claimed', async () => {
    const { runtime, service, ready } = await setup({ base: 1 });
    await until('one pooled', () => ready('base') === 1);
    assert.deepEqual([...runtime.sandboxes.values()].map((f) => f.spec.background), [true]);
    assert.deepEqual(runtime.foregrounded, []);
    const record = await service.create(input({ template: 'base' }));
    assert.deepEqual(runtime.foregrounded, [record.sandboxId]);
  });

  it('a claim with a non-default network policy applies it through the runtime before returning', async () => {
    const { runtime, service, ready } = await setup({ base: 1 });
    await until('one pooled', () => ready('base') === 1);
    const record = await service.create(input({ template: 'base', allowInternetAccess: false, allowOut: ['1.1.1.1'] }));
    assert.deepEqual(runtime.egressUpdates, [{ sandboxId: record.sandboxId, egress: { allowInternetAccess: false, allowOut: ['1.1.1.1'], denyOut: [] } }]);
    assert.equal(runtime.adopted.get(record.sandboxId)?.length, 2);
  });

  it('20 concurrent creates against a pool of 2 all succeed: 2 claimed, 18 cold, all distinct', async () => {
    const { runtime, pool, service, ready } = await setup({ 'code-interpreter-v1': 2 });
    await until('two pooled', () => ready('code-interpreter-v1') === 2);
    const pooledIds = new Set(runtime.sandboxes.keys());
    const records = await withTimeout(Promise.all(Array.from({ length: 20 }, () => service.create(input()))), 20_000, '20 creates');
    const ids = new Set(records.map((r) => r.sandboxId));
    assert.equal(ids.size, 20);
    assert.equal(records.filter((r) => pooledIds.has(r.sandboxId)).length, 2);
    assert.equal(service.running().length, 20);
    const [depth] = pool.depth();
    assert.equal(depth?.claims, 2);
    assert.equal(depth?.misses, 18);
  });

  it('a refused adopt destroys the pooled sandbox and the create starts cold', async () => {
    const { runtime, service, ready } = await setup({ base: 1 });
    await until('one pooled', () => ready('base') === 1);
    const [pooledId] = [...runtime.sandboxes.keys()];
    runtime.refuseAdopt = true;
    const record = await service.create(input({ template: 'base' }));
    assert.notEqual(record.sandboxId, pooledId);
    assert.equal(runtime.sandboxes.has(pooledId!), false, 'the refused one is gone');
    assert.equal(service.running().length, 1);
  });

  it('other templates, and pooled ones of a rebuilt template, go cold', async () => {
    const { runtime, service, templates, ready } = await setup({ base: 1 });
    await until('one pooled', () => ready('base') === 1);
    const [pooledId] = [...runtime.sandboxes.keys()];
    const other = await service.create(input());
    assert.equal(runtime.adopted.has(other.sandboxId), false);
    assert.equal(ready('base'), 1, 'a create of another template leaves the pool alone');
    templates[0]!.templateId = 'tbase-rebuilt';
    const rebuilt = await service.create(input({ template: 'base' }));
    assert.notEqual(rebuilt.sandboxId, pooledId);
    assert.equal(runtime.adopted.has(rebuilt.sandboxId), false);
    await until('the stale one destroyed', () => !runtime.sandboxes.has(pooledId!));
  });

  it('replaces a pooled sandbox that dies; pooled sandboxes are not the service’s', async () => {
    const { runtime, service, ready } = await setup({ base: 1 });
    await until('one pooled', () => ready('base') === 1);
    const [first] = [...runtime.sandboxes.keys()];
    runtime.exitOnItsOwn(first!);
    await until('a replacement', () => ready('base') === 1 && !runtime.sandboxes.has(first!) && runtime.sandboxes.size === 1);
    assert.equal(service.running().length, 0);
    assert.throws(() => service.get([...runtime.sandboxes.keys()][0]!), /not found/);
  });

  it('retries a failed boot with backoff', async () => {
    const { runtime, ready } = await setup({});
    void ready;
    assert.equal(runtime.boots, 0, 'no sizes: no boots');
    const failing = await setup({ base: 1 }, { refuseAdopt: true });
    await until('a few attempts', () => failing.runtime.boots >= 3);
    assert.equal(failing.ready('base'), 0);
    assert.ok(failing.runtime.sandboxes.size <= 1, 'failed boots are cleaned up (one may be booting)');
    failing.runtime.refuseAdopt = false;
    await until('a pooled one at last', () => failing.ready('base') === 1, 10_000);
  });

  it('stop destroys every pooled sandbox and the boot in flight, claimed ones stay', async () => {
    const { runtime, pool, service, ready } = await setup({ base: 2 });
    await until('two pooled', () => ready('base') === 2);
    runtime.bootDelayMs = 200;
    const claimed = await service.create(input({ template: 'base' }));
    await until('a refill booting', () => runtime.inFlight === 1);
    await pool.stop();
    assert.deepEqual([...runtime.sandboxes.keys()], [claimed.sandboxId]);
    assert.equal(pool.claim('base', claimed.templateId), undefined);
  });
});
