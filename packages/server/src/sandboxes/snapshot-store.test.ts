import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSnapshotStore, snapshotWireId, type SnapshotRecord } from './snapshot-store.js';

const record = (snapshotId: string, name: string | null, createdAt: string): SnapshotRecord => ({
  snapshotId,
  name,
  sourceSandboxId: 'isource',
  template: {
    templateId: 't',
    aliases: ['base'],
    rootfsPath: '/r',
    limits: { cpuCount: 1, memoryMB: 512, diskSizeMB: 1024, pidsLimit: 100 } as never,
    createdAt,
  },
  envVars: {},
  loopbackSecret: 'secret',
  createdAt,
  diskBytes: 1,
});

describe('snapshot store', () => {
  it('resolves by id or name, with or without the tag (and a team prefix); lists newest first; survives a reload', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'snapstore-'));
    try {
      const store = createSnapshotStore(dir);
      store.put(record('sa', null, '2026-01-01T00:00:00.000Z'));
      store.put(record('sb', 'warm', '2026-01-02T00:00:00.000Z'));
      assert.equal(store.resolve('sa')?.snapshotId, 'sa');
      assert.equal(store.resolve('sa:default')?.snapshotId, 'sa');
      assert.equal(store.resolve('warm:default')?.snapshotId, 'sb');
      assert.equal(store.resolve('team/warm')?.snapshotId, 'sb');
      assert.equal(store.resolve('cold'), undefined);
      assert.equal(snapshotWireId(store.resolve('sa')!), 'sa:default');
      assert.deepEqual(
        createSnapshotStore(dir)
          .list()
          .map((s) => s.snapshotId),
        ['sb', 'sa'],
      );
      store.delete('sb');
      assert.deepEqual(
        createSnapshotStore(dir)
          .list()
          .map((s) => s.snapshotId),
        ['sa'],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
