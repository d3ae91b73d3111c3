import assert from 'node:assert/strict';
import { link, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { APT_CACHE_DIR, pruneAptCache } from './apt-cache-prune.js';

// Integration lane: the prune asks the host's dpkg to order versions.

const KIB = 1024;

describe('pruneAptCache (real dpkg version order)', () => {
  let dir: string;
  let cache: string;
  const deb = async (name: string, size = KIB) => {
    await writeFile(join(cache, name), Buffer.alloc(size));
    // Distinct ctimes, oldest first: the order the files were last linked in.
    await new Promise((resolve) => setTimeout(resolve, 20));
  };
  const left = async () => (await readdir(cache)).sort();

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'apt-prune-'));
    cache = join(dir, APT_CACHE_DIR);
    await mkdir(cache);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the newest version of each package and architecture, in dpkg order (epochs, ~, revisions)', async () => {
    await deb('bsdutils_1%3a2.41.5-0+deb13u1_amd64.deb');
    await deb('bsdutils_2.99-1_amd64.deb'); // no epoch: older than 1:2.41
    await deb('libfoo_1.0~rc1-1_amd64.deb');
    await deb('libfoo_1.0-1_amd64.deb');
    await deb('libfoo_1.0-1_i386.deb');
    await deb('apt_3.0.4_amd64.deb');
    await writeFile(join(cache, 'not-a-deb.txt'), 'x');
    const result = await pruneAptCache(dir, 1024 * KIB);
    assert.equal(result.removed, 2);
    assert.equal(result.bytes, 2 * KIB);
    assert.deepEqual(await left(), [
      'apt_3.0.4_amd64.deb',
      'bsdutils_1%3a2.41.5-0+deb13u1_amd64.deb',
      'libfoo_1.0-1_amd64.deb',
      'libfoo_1.0-1_i386.deb',
      'not-a-deb.txt',
    ]);
    assert.equal(result.keptBytes, 4 * KIB);
  });

  it('over the bound, removes the least recently linked files first, never one a build still links to', async () => {
    await deb('a_1_amd64.deb', 4 * KIB);
    await deb('b_1_amd64.deb', 4 * KIB);
    await deb('c_1_amd64.deb', 4 * KIB);
    await deb('d_1_amd64.deb', 4 * KIB);
    // A build root holding a link: `a` is in use, though the oldest.
    await mkdir(join(dir, 'root'));
    await link(join(cache, 'a_1_amd64.deb'), join(dir, 'root', 'a_1_amd64.deb'));
    const result = await pruneAptCache(dir, 9 * KIB);
    assert.deepEqual(await left(), ['a_1_amd64.deb', 'd_1_amd64.deb']);
    assert.equal(result.removed, 2);
    assert.equal(result.keptBytes, 8 * KIB);
  });

  it('prunes nothing while a template build runs (a live pid in a partial directory)', async () => {
    await deb('x_1_amd64.deb');
    await deb('x_2_amd64.deb');
    await mkdir(join(dir, `0123abcd.partial-${process.pid}`));
    const result = await pruneAptCache(dir, 0);
    assert.equal(result.skipped, 'a template build is running');
    assert.equal((await left()).length, 2);
    // A partial directory its build left behind (no such process) does not stop the prune.
    await rm(join(dir, `0123abcd.partial-${process.pid}`), { recursive: true });
    await mkdir(join(dir, '0123abcd.partial-999999999'));
    assert.equal((await pruneAptCache(dir, 0)).removed, 2);
  });

  it('is a no-op without a cache', async () => {
    await rm(cache, { recursive: true });
    assert.deepEqual(await pruneAptCache(dir, 0), { removed: 0, bytes: 0, keptBytes: 0 });
  });
});
