import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, isSandboxdError } from '@sandboxd/protocol';
import { checkSnapshotVersions, commitSnapshot, prepareSnapshot, readSnapshotVersions, removePartialSnapshots, snapshotPaths } from './snapshot-images.js';

describe('snapshot images', () => {
  it('a snapshot is complete or absent: written into .partial, renamed with its versions', async () => {
    const home = await mkdtemp(join(tmpdir(), 'snapimg-'));
    try {
      const partial = await prepareSnapshot(home, 's1');
      await writeFile(join(partial, 'image', 'checkpoint.img'), 'x');
      await assert.rejects(readSnapshotVersions(home, 's1'), (e: unknown) => isSandboxdError(e) && e.code === ErrorCode.SNAPSHOT_NOT_FOUND);
      await commitSnapshot(home, 's1', { runsc: 'r1', agentImage: 'a1' });
      assert.deepEqual(await readSnapshotVersions(home, 's1'), { runsc: 'r1', agentImage: 'a1' });
      await mkdir(snapshotPaths(home, 's2').partial, { recursive: true });
      await removePartialSnapshots(home);
      assert.deepEqual(await readdir(join(home, 'snapshots')), ['s1']);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('a snapshot of another runsc or agent is SNAPSHOT_INCOMPATIBLE, naming both versions', () => {
    checkSnapshotVersions('s', { runsc: 'r', agentImage: 'a' }, { runsc: 'r', agentImage: 'a' });
    assert.throws(
      () => checkSnapshotVersions('s', { runsc: 'runsc 1', agentImage: 'a' }, { runsc: 'runsc 2', agentImage: 'a' }),
      (e: unknown) => isSandboxdError(e) && e.code === ErrorCode.SNAPSHOT_INCOMPATIBLE && /runsc 1 \(this daemon: runsc 2\)/.test(e.message),
    );
    assert.throws(() => checkSnapshotVersions('s', { runsc: 'r', agentImage: 'old' }, { runsc: 'r', agentImage: 'new' }), /agentImage old/);
  });
});
