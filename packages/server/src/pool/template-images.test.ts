import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { createSandboxService } from '../sandboxes/sandbox-service.js';
import type { CreateSandboxInput } from '../sandboxes/sandbox-service.js';
import { openDatabase } from '../store/database.js';
import { createSandboxRepo } from '../store/sandbox-repo.js';
import { AdoptingRuntime } from '../testing/adopting-runtime.js';
import { defaultTemplates, silentLogger, staticTemplates, tempHome } from '../testing/harness.js';
import type { TemplateInfo } from '../templates/template-store.js';
import { createTemplateImages, imageKey } from './template-images.js';
import type { TemplateImages } from './template-images.js';
import { createWarmPool } from './warm-pool.js';

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

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  runtime: AdoptingRuntime;
  images: TemplateImages;
  service: ReturnType<typeof createSandboxService>;
  templates: TemplateInfo[];
  home: string;
}

/** A service whose cold creates restore template images; `home` is kept across setups (a daemon restart). */
async function setup(options: { home?: string; runtime?: AdoptingRuntime; templates?: TemplateInfo[]; pool?: Record<string, number> } = {}): Promise<Setup> {
  const runtime = options.runtime ?? new AdoptingRuntime();
  const temp = options.home === undefined ? tempHome() : undefined;
  const home = options.home ?? temp!.home;
  const templates = options.templates ?? defaultTemplates().map((t) => ({ ...t, env: { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' } }));
  const store = staticTemplates(templates);
  const images = createTemplateImages({ runtime, templates: store, logger: silentLogger, dir: join(home, 'template-images'), bootTimeoutMs: 5_000, retryDelayMs: 60_000, snapshotRetryDelaysMs: [5, 5] });
  const pool = options.pool
    ? createWarmPool({ runtime, templates: store, logger: silentLogger, sizes: new Map(Object.entries(options.pool)), memoryBudgetMB: 4096, bootTimeoutMs: 5_000, retryDelayMs: 20, images })
    : undefined;
  const db = openDatabase(join(home, 'db'));
  const service = createSandboxService({
    runtime,
    templates: store,
    repo: createSandboxRepo(db),
    logger: silentLogger,
    createTimeoutMs: 5_000,
    images,
    ...(pool ? { pool } : {}),
  });
  await service.start();
  cleanups.push(async () => {
    service.stop();
    await pool?.stop();
    await images.stop();
    db.close();
    if (options.runtime === undefined) await runtime.close();
    temp?.remove();
  });
  images.start();
  pool?.start();
  return { runtime, images, service, templates, home };
}

const imaged = (s: Setup): number => s.templates.filter((t) => s.images.get(t, t.aliases[0] === 'code-interpreter-v1') !== undefined).length;

describe('template images', () => {
  it('images every template once (booted, warmed by an adopt, frozen, snapshotted, destroyed)', async () => {
    const s = await setup();
    await until('both templates imaged', () => imaged(s) === 2);
    assert.equal(s.runtime.sandboxes.size, 0, 'the imaged sandboxes are gone');
    assert.equal(s.runtime.snapshots.size, 2);
    const ci = s.images.get(s.templates[1]!, true)!;
    assert.equal(ci.snapshotId, `template-${imageKey(s.templates[1]!, true)}`);
    assert.equal(ci.kernels, true);
    // Each imaged sandbox was warmed by its own adopt before the freeze.
    const warmed = [...s.runtime.adopted.values()].map((list) => list.map((a) => a.generation));
    assert.deepEqual(warmed, [[1], [1]]);
    const calls = s.runtime.pauseCalls.filter((c) => c.startsWith('freeze') || c.startsWith('snapshot')).map((c) => c.split(':')[0]);
    assert.deepEqual(calls, ['freeze', 'snapshot', 'freeze', 'snapshot']);
  });

  it('an image serves creates as soon as its record is written, while the imaged sandbox is still being destroyed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    class SlowTeardown extends AdoptingRuntime {
      override async destroy(sandboxId: string): Promise<void> {
        await gate;
        await super.destroy(sandboxId);
      }
    }
    const runtime = new SlowTeardown();
    cleanups.push(() => runtime.close());
    const s = await setup({ runtime });
    cleanups.push(() => release()); // runs before the setup's cleanup, which waits for the teardown
    const base = s.templates[0]!;
    await until('the first template imaged', () => s.images.get(base, false) !== undefined);
    assert.equal(s.runtime.sandboxes.size, 1, 'the imaged sandbox is not destroyed yet');
    const record = await s.service.create(input({ template: base.aliases[0]! }));
    assert.equal(s.runtime.restores, 1, 'restored from the image, not booted');
    assert.equal(record.templateId, base.templateId);
    release();
  });

  it('a cold create restores the image and the agent adopts the request: id, token, env, its own secret and hostname', async () => {
    const s = await setup();
    await until('imaged', () => imaged(s) === 2);
    const image = s.images.get(s.templates[1]!, true)!;
    const bootsBefore = s.runtime.boots - s.runtime.restores;
    const record = await s.service.create(input({ envVars: { FROM_CREATE: 'yes' }, secure: true }));
    assert.equal(s.runtime.restores, 1, 'restored, not booted');
    assert.equal(s.runtime.boots - s.runtime.restores, bootsBefore);
    const adopts = s.runtime.adopted.get(record.sandboxId)!;
    assert.equal(adopts.length, 1);
    const adopt = adopts[0]!;
    assert.equal(adopt.sandboxId, record.sandboxId);
    assert.equal(adopt.hostname, record.sandboxId);
    assert.equal(adopt.accessToken, record.accessToken);
    assert.ok(record.accessToken);
    assert.deepEqual(adopt.envVars, { SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt', FROM_CREATE: 'yes' });
    assert.equal(adopt.templateId, s.templates[1]!.templateId);
    assert.equal(record.templateId, s.templates[1]!.templateId);
    // The image's secret opened the adopt; the sandbox's own is a new one, recorded for the proxy.
    assert.notEqual(record.ingress?.loopbackSecret, image.loopbackSecret);
    assert.equal(adopt.loopbackSecret, record.ingress?.loopbackSecret);
    assert.equal(s.runtime.sandboxes.get(record.sandboxId)?.spec.agentConfig.loopbackSecret, record.ingress?.loopbackSecret);
    assert.ok(adopt.generation > 2, 'newer than any generation the imaged agent had');
    // A second create gets a secret of its own too.
    const other = await s.service.create(input());
    assert.notEqual(other.ingress?.loopbackSecret, record.ingress?.loopbackSecret);
    assert.equal(s.runtime.restores, 2);
  });

  it('a create of a template named by an alias that boots no kernels does not take the kernels image', async () => {
    const s = await setup();
    await until('imaged', () => imaged(s) === 2);
    const record = await s.service.create(input({ template: s.templates[1]!.templateId }));
    assert.equal(s.runtime.restores, 0, 'no image of it without kernels yet: cold');
    assert.equal(s.runtime.sandboxes.get(record.sandboxId)?.spec.agentConfig.bootKernels, false);
    await until('the kernel-less image made in the background', () => s.images.get(s.templates[1]!, false) !== undefined);
  });

  it('a failed restore boots cold and deletes the image', async () => {
    const s = await setup();
    await until('imaged', () => imaged(s) === 2);
    const image = s.images.get(s.templates[0]!, false)!;
    s.runtime.failRestore = new SandboxdError(ErrorCode.RUNTIME_FAILURE, 'runsc restore: image corrupt');
    const record = await s.service.create(input({ template: 'base', envVars: { A: '1' } }));
    assert.equal(record.state, 'running');
    const fake = s.runtime.sandboxes.get(record.sandboxId)!;
    assert.equal(fake.spec.agentConfig.sandboxId, record.sandboxId, 'booted cold with its own config');
    assert.equal(fake.spec.agentConfig.envVars['A'], '1');
    assert.equal(s.runtime.adopted.has(record.sandboxId), false, 'a cold sandbox needs no adopt');
    await until('the image deleted', () => !s.runtime.snapshots.has(image.snapshotId));
    assert.equal(existsSync(join(s.home, 'template-images', `${image.key}.json`)), false);
    // Not made again at once: the next create boots cold rather than imaging on every create.
    s.runtime.failRestore = undefined;
    assert.equal(s.images.get(s.templates[0]!, false), undefined);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.runtime.snapshots.has(image.snapshotId), false);
  });

  it('a failed adopt after the restore destroys the restored sandbox and boots cold', async () => {
    const s = await setup();
    await until('imaged', () => imaged(s) === 2);
    const image = s.images.get(s.templates[0]!, false)!;
    // The restored agent wants another secret than the record's: the adopt is refused.
    s.runtime.refuseAdopt = true;
    const record = await s.service.create(input({ template: 'base' }));
    assert.equal(record.state, 'running');
    assert.equal(s.runtime.sandboxes.size, 1, 'the restored sandbox was destroyed');
    assert.equal(s.runtime.sandboxes.get(record.sandboxId)?.spec.agentConfig.sandboxId, record.sandboxId);
    await until('the image deleted', () => !s.runtime.snapshots.has(image.snapshotId));
  });

  it('at start, keeps a current image, remakes an incompatible one and deletes one of a rebuilt template', async () => {
    const runtime = new AdoptingRuntime();
    const temp = tempHome();
    cleanups.push(() => temp.remove());
    cleanups.push(() => runtime.close());
    const first = await setup({ runtime, home: temp.home });
    await until('imaged', () => imaged(first) === 2);
    const base = first.images.get(first.templates[0]!, false)!;
    const ci = first.images.get(first.templates[1]!, true)!;
    for (const cleanup of cleanups.splice(2).reverse()) await cleanup();

    // Another runsc wrote the base image (as runsc or the agent changing); the code interpreter is rebuilt.
    runtime.incompatibleSnapshots.add(base.snapshotId);
    const rebuilt = first.templates.map((t) => (t.aliases[0] === 'code-interpreter-v1' ? { ...t, templateId: 'tci00000000000000002' } : t));
    const bootsBefore = runtime.boots;
    const second = await setup({ runtime, home: first.home, templates: rebuilt });
    await until('both imaged again', () => imaged(second) === 2);
    const newBase = second.images.get(rebuilt[0]!, false)!;
    const newCi = second.images.get(rebuilt[1]!, true)!;
    assert.equal(newBase.snapshotId, base.snapshotId, 'same template, same key');
    assert.notEqual(newBase.loopbackSecret, base.loopbackSecret, 'made again');
    assert.notEqual(newCi.snapshotId, ci.snapshotId);
    assert.equal(runtime.snapshots.has(ci.snapshotId), false, 'the rebuilt template’s old image is deleted');
    assert.equal(runtime.boots - bootsBefore, 2);
    assert.deepEqual(readdirSync(join(first.home, 'template-images')).sort(), [`${newBase.key}.json`, `${newCi.key}.json`].sort());

    // A third start with nothing changed boots nothing.
    runtime.incompatibleSnapshots.clear();
    for (const cleanup of cleanups.splice(2).reverse()) await cleanup();
    const third = await setup({ runtime, home: first.home, templates: rebuilt });
    await until('loaded', () => imaged(third) === 2);
    assert.equal(runtime.boots - bootsBefore, 2);
    assert.equal(third.images.get(rebuilt[0]!, false)?.loopbackSecret, newBase.loopbackSecret);
  });

  it('pool refills restore the image; a claim then adopts the request with the pooled secret', async () => {
    const s = await setup({ pool: { base: 1 } });
    await until('pooled', () => s.runtime.restores === 1 && s.runtime.sandboxes.size === 1);
    const [pooledId] = [...s.runtime.sandboxes.keys()];
    const poolAdopt = s.runtime.adopted.get(pooledId!)!;
    assert.equal(poolAdopt.length, 1);
    assert.equal(poolAdopt[0]!.hostname, pooledId);
    assert.ok(poolAdopt[0]!.loopbackSecret);
    const record = await s.service.create(input({ template: 'base', envVars: { X: 'y' } }));
    assert.equal(record.sandboxId, pooledId);
    const claim = s.runtime.adopted.get(pooledId!)!.at(-1)!;
    assert.equal(claim.generation, poolAdopt[0]!.generation + 1);
    assert.equal(claim.envVars['X'], 'y');
    assert.equal(record.ingress?.loopbackSecret, poolAdopt[0]!.loopbackSecret);
  });

  it('a snapshot runsc refuses is retried with the imaged sandbox thawed in between', async () => {
    const runtime = new AdoptingRuntime();
    let refusals = 2;
    const take = runtime.snapshot.bind(runtime);
    runtime.snapshot = async (...args) => {
      if (refusals-- > 0) throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, 'endpoint cannot be saved in connected state');
      return take(...args);
    };
    const s = await setup({ runtime, templates: [defaultTemplates()[0]!] });
    cleanups.push(() => runtime.close());
    await until('imaged', () => s.images.get(s.templates[0]!, false) !== undefined);
    const calls = runtime.pauseCalls.map((c) => c.split(':')[0]);
    assert.deepEqual(calls, ['freeze', 'thaw', 'freeze', 'thaw', 'freeze', 'snapshot']);
  });
});
