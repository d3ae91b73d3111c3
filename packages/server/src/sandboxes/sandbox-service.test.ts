import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../store/database.js';
import type { Db } from '../store/database.js';
import { createSandboxRepo } from '../store/sandbox-repo.js';
import { FakeRuntime } from '../testing/fake-runtime.js';
import { silentLogger, staticTemplates, tempHome, withTimeout } from '../testing/harness.js';
import { createSandboxService } from './sandbox-service.js';
import { createSnapshotStore } from './snapshot-store.js';
import type { CreateSandboxInput } from './sandbox-service.js';
import type { EndReason } from './sandbox-record.js';

const input = (over: Partial<CreateSandboxInput> = {}): CreateSandboxInput => ({
  template: 'base',
  timeoutSec: 300,
  metadata: {},
  envVars: {},
  secure: true,
  allowInternetAccess: true,
  allowOut: [],
  denyOut: [],
  ...over,
});

const service = (db: Db, runtime: FakeRuntime) =>
  createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });

const runtimes: FakeRuntime[] = [];
after(async () => {
  for (const r of runtimes) await r.close();
});

describe('sandbox service', () => {
  it('at start, deletes snapshot images no record names, keeping recorded snapshots and template images', async () => {
    const runtime = new FakeRuntime();
    runtimes.push(runtime);
    const store = createSnapshotStore();
    const template = staticTemplates().list()[0]!;
    store.put({ snapshotId: 'skept000000000000000', name: 'kept', sourceSandboxId: 'x', template, envVars: {}, loopbackSecret: 's', createdAt: '', diskBytes: 0 });
    for (const id of ['skept000000000000000', 'sorphan0000000000000', 'template-0123456789abcdef01234567']) runtime.snapshots.set(id, 'x');
    const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(openDatabase(':memory:')), logger: silentLogger, createTimeoutMs: 5000, snapshots: store });
    await sandboxes.start();
    assert.deepEqual([...runtime.snapshots.keys()].sort(), ['skept000000000000000', 'template-0123456789abcdef01234567']);
    sandboxes.stop();
  });

  it('kills a sandbox at its end time (within about a second) and reports why', async () => {
    const runtime = new FakeRuntime();
    runtimes.push(runtime);
    const sandboxes = service(openDatabase(':memory:'), runtime);
    const ended: [string, EndReason][] = [];
    sandboxes.onEnd((r, reason) => ended.push([r.sandboxId, reason]));
    const created = await sandboxes.create(input({ timeoutSec: 1 }));
    const keep = await sandboxes.create(input({ timeoutSec: 60 }));
    const start = Date.now();
    await withTimeout(
      new Promise<void>((resolve) => sandboxes.onEnd(() => resolve())),
      3000,
      'expiry',
    );
    const elapsed = Date.now() - start;
    assert.ok(elapsed >= 800 && elapsed <= 1600, `expired after ${elapsed} ms`);
    assert.deepEqual(ended, [[created.sandboxId, 'expired']]);
    assert.equal(sandboxes.find(created.sandboxId), undefined);
    assert.equal(runtime.sandboxes.has(created.sandboxId), false);
    assert.ok(sandboxes.find(keep.sandboxId));
    sandboxes.stop();
  });

  it('gives every sandbox’s agent its own loopback secret, distinct from the access token', async () => {
    const runtime = new FakeRuntime();
    runtimes.push(runtime);
    const sandboxes = service(openDatabase(':memory:'), runtime);
    const a = await sandboxes.create(input());
    const b = await sandboxes.create(input({ secure: false }));
    for (const created of [a, b]) {
      const secret = created.ingress?.loopbackSecret;
      assert.match(secret ?? '', /^[0-9a-f]{48}$/);
      assert.equal(runtime.sandboxes.get(created.sandboxId)?.spec.agentConfig.loopbackSecret, secret);
      assert.notEqual(secret, created.accessToken);
    }
    assert.notEqual(a.ingress?.loopbackSecret, b.ingress?.loopbackSecret);
    sandboxes.stop();
  });

  it('setTimeout re-arms the reaper', async () => {
    const runtime = new FakeRuntime();
    runtimes.push(runtime);
    const sandboxes = service(openDatabase(':memory:'), runtime);
    const created = await sandboxes.create(input({ timeoutSec: 60 }));
    const ended = new Promise<void>((resolve) => sandboxes.onEnd(() => resolve()));
    sandboxes.setTimeout(created.sandboxId, 0);
    await withTimeout(ended, 1000, 'expiry after setTimeout(0)');
    assert.equal(runtime.sandboxes.size, 0);
    sandboxes.stop();
  });

  it('adopts surviving sandboxes after a restart, kills expired ones, marks lost ones gone', async () => {
    const { home, remove } = tempHome();
    const runtime = new FakeRuntime();
    runtimes.push(runtime);
    try {
      const db1 = openDatabase(home);
      const first = service(db1, runtime);
      const survivor = await first.create(input({ metadata: { who: 'survivor' }, envVars: { A: '1' } }));
      const expiring = await first.create(input({ timeoutSec: 1 }));
      const lost = await first.create(input());
      first.stop();
      db1.close();
      await runtime.destroy(lost.sandboxId); // died while the daemon was down
      await new Promise((r) => setTimeout(r, 1100)); // `expiring` passes its end time meanwhile

      const db2 = openDatabase(home);
      const second = service(db2, runtime);
      const ended: string[] = [];
      second.onEnd((r) => ended.push(r.sandboxId));
      await second.start();
      assert.deepEqual(
        runtime.reconcileCalls.at(-1)!.map((k) => k.sandboxId).sort(),
        [survivor.sandboxId, expiring.sandboxId, lost.sandboxId].sort(),
      );
      const adopted = second.get(survivor.sandboxId);
      assert.deepEqual(adopted.metadata, { who: 'survivor' });
      assert.deepEqual(adopted.envVars, { A: '1' });
      assert.equal(adopted.accessToken, survivor.accessToken);
      assert.equal(adopted.ingress?.loopbackSecret, survivor.ingress?.loopbackSecret, 'the loopback secret survives the restart');
      assert.equal(adopted.address, survivor.address);
      assert.equal(adopted.endAt, survivor.endAt);
      assert.equal(second.find(lost.sandboxId), undefined);
      assert.equal(createSandboxRepo(db2).get(lost.sandboxId)?.state, 'gone');
      await withTimeout(
        (async () => {
          while (second.find(expiring.sandboxId) !== undefined) await new Promise((r) => setTimeout(r, 20));
        })(),
        1000,
        'expired sandbox killed after restart',
      );
      assert.deepEqual(ended, [expiring.sandboxId]);
      assert.equal(runtime.sandboxes.has(expiring.sandboxId), false);
      assert.equal(createSandboxRepo(db2).get(expiring.sandboxId)?.state, 'expired');
      second.stop();
      db2.close();
    } finally {
      remove();
    }
  });
});
