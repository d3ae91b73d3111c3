import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../logger.js';
import { createXattrMetadataStore } from './metadata.js';

describe('file metadata on a real file (getfattr/setfattr)', () => {
  it('stores, reads back and replaces user.e2b.* xattrs on a real file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xattr-'));
    try {
      const store = createXattrMetadataStore(silentLogger);
      const a = join(dir, 'with space.txt');
      const b = join(dir, 'plain.txt');
      await writeFile(a, 'a');
      await writeFile(b, 'b');
      await store.replace(a, { owner: 'me', note: 'x=y "q"', empty: '' });
      const read = await store.read([a, b]);
      assert.deepEqual(read.get(a), { owner: 'me', note: 'x=y "q"', empty: '' });
      assert.equal(read.has(b), false);
      await store.replace(a, { owner: 'you' });
      assert.deepEqual((await store.read([a])).get(a), { owner: 'you' });
      await store.replace(a, {});
      assert.equal((await store.read([a])).has(a), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
