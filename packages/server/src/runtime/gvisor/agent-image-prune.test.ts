import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { imagesInUse, pruneAgentImages } from './agent-image-prune.js';

// A /proc stand-in: our namespace, one gofer-like process in another namespace holding image b.
async function fakeProc(base: string, imagesDir: string): Promise<string> {
  const proc = join(base, 'proc');
  const process = async (pid: string, ns: string, mountinfo: string): Promise<void> => {
    await mkdir(join(proc, pid, 'ns'), { recursive: true });
    await symlink(ns, join(proc, pid, 'ns', 'mnt'));
    await writeFile(join(proc, pid, 'mountinfo'), mountinfo);
  };
  await process('self', 'mnt:[1]', '');
  await process('10', 'mnt:[1]', `30 1 253:0 ${imagesDir}/a ${imagesDir}/a ro - ext4 /dev/vda ro\n`);
  await process('20', 'mnt:[2]', `40 1 253:0 ${imagesDir}/b /proc/fs/root/opt/sandboxd ro - ext4 /dev/vda ro\n`);
  return proc;
}

test('images mounted in another namespace are in use; our own self-binds do not count', async () => {
  const base = await mkdtemp(join(tmpdir(), 'agent-prune-'));
  try {
    const imagesDir = join(base, 'images');
    const proc = await fakeProc(base, imagesDir);
    assert.deepEqual([...imagesInUse(imagesDir, proc)], ['b']);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('prune removes old unused images and keeps the current, used, young and partial ones', async () => {
  const base = await mkdtemp(join(tmpdir(), 'agent-prune-'));
  try {
    const imagesDir = join(base, 'images');
    const proc = await fakeProc(base, imagesDir);
    const old = Date.now() / 1000 - 3600;
    for (const name of ['a', 'b', 'current', 'young', 'x.partial-12']) {
      await mkdir(join(imagesDir, name), { recursive: true });
      await writeFile(join(imagesDir, name, '.complete'), name);
      if (name !== 'young') await utimes(join(imagesDir, name, '.complete'), old, old);
    }
    const removed = await pruneAgentImages(imagesDir, join(imagesDir, 'current'), { procDir: proc });
    assert.deepEqual(removed, ['a']);
    assert.equal(existsSync(join(imagesDir, 'a')), false);
    for (const kept of ['b', 'current', 'young', 'x.partial-12']) assert.ok(existsSync(join(imagesDir, kept)), kept);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
