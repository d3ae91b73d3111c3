import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createInodeMetadataStore, withMetadataFallback } from './inode-metadata.js';
import type { MetadataStore } from './metadata.js';

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'inode-md-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An xattr store on a filesystem that refuses user xattrs, as gVisor's gofer root does. */
const refusingXattrs: MetadataStore = {
  read: () => Promise.resolve(new Map()),
  replace: (_path, metadata) =>
    Object.keys(metadata).length === 0
      ? Promise.resolve()
      : Promise.reject(Object.assign(new Error('setfattr: Operation not supported'), { code: 'ENOTSUP' })),
};

describe('inode metadata store', () => {
  it('follows the file across a rename, clears on an empty set, forgets a removed file', () =>
    inTempDir(async (dir) => {
      const store = createInodeMetadataStore();
      const a = join(dir, 'a.txt');
      const b = join(dir, 'b.txt');
      await writeFile(a, 'a');
      await store.replace(a, { author: 'me' });
      assert.deepEqual((await store.read([a])).get(a), { author: 'me' });
      await rename(a, b);
      assert.deepEqual(Object.fromEntries(await store.read([a, b])), { [b]: { author: 'me' } });
      await store.replace(b, {});
      assert.equal((await store.read([b])).size, 0);
      await store.replace(b, { again: '1' });
      await unlink(b);
      assert.equal((await store.read([b])).size, 0);
      await assert.rejects(store.replace(b, { x: 'y' }), /no such file/);
    }));

  it('refuses more files than its bound', () =>
    inTempDir(async (dir) => {
      const store = createInodeMetadataStore(1);
      await writeFile(join(dir, '1'), '1');
      await writeFile(join(dir, '2'), '2');
      await store.replace(join(dir, '1'), { k: 'v' });
      await store.replace(join(dir, '1'), { k: 'w' });
      await assert.rejects(store.replace(join(dir, '2'), { k: 'v' }), /more than 1 files/);
    }));
});

describe('metadata fallback', () => {
  it('keeps metadata in the fallback when xattrs are refused, and clears it there', () =>
    inTempDir(async (dir) => {
      const store = withMetadataFallback(refusingXattrs, createInodeMetadataStore());
      const f = join(dir, 'f');
      await writeFile(f, 'f');
      await store.replace(f, { purpose: 'upload' });
      assert.deepEqual((await store.read([f])).get(f), { purpose: 'upload' });
      await store.replace(f, {});
      assert.equal((await store.read([f])).has(f), false);
    }));

  it('passes other xattr errors on', () =>
    inTempDir(async (dir) => {
      const failing: MetadataStore = { read: () => Promise.resolve(new Map()), replace: () => Promise.reject(new Error('Permission denied')) };
      const store = withMetadataFallback(failing, createInodeMetadataStore());
      await writeFile(join(dir, 'f'), 'f');
      await assert.rejects(store.replace(join(dir, 'f'), { k: 'v' }), /Permission denied/);
    }));
});
