import assert from 'node:assert/strict';
import { chown, mkdtemp, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readMountPoints } from './read-only-mount.js';
import { layerTmpDir, layerUpperDir, mountWritableLayer, unmountWritableLayer, writableLayerMounted, writableLayerUsage, type WritableLayerPaths } from './writable-layer.js';

// Real loop devices, ext4 and overlayfs: this test needs root, as the daemon does.
let base: string;
let lower: string;
let paths: WritableLayerPaths;
const SIZE_MB = 32;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'sandboxd-layer-'));
  lower = join(base, 'template');
  await mkdir(join(lower, 'etc'), { recursive: true });
  await writeFile(join(lower, 'etc', 'motd'), 'from the template\n');
  // What a template's build steps left in /tmp.
  await mkdir(join(lower, 'tmp', 'kept'), { recursive: true, mode: 0o1777 });
  await writeFile(join(lower, 'tmp', 'kept', 'file'), 'from a build step\n', { mode: 0o640 });
  await chown(join(lower, 'tmp', 'kept', 'file'), 1234, 1235);
  paths = { diskImage: join(base, 'disk.img'), layerDir: join(base, 'layer'), rootDir: join(base, 'root') };
  await mountWritableLayer(paths, lower, SIZE_MB);
});

after(async () => {
  await unmountWritableLayer(paths).catch(() => undefined);
  await rm(base, { recursive: true, force: true });
});

test('the root shows the template and takes writes on the disk only', async () => {
  assert.ok(await writableLayerMounted(paths));
  assert.equal(await readFile(join(paths.rootDir, 'etc', 'motd'), 'utf8'), 'from the template\n');
  await writeFile(join(paths.rootDir, 'etc', 'motd'), 'changed in the sandbox\n');
  assert.equal(await readFile(join(paths.rootDir, 'etc', 'motd'), 'utf8'), 'changed in the sandbox\n');
  assert.equal(await readFile(join(lower, 'etc', 'motd'), 'utf8'), 'from the template\n', 'the template is never written');
  assert.equal(await readFile(join(layerUpperDir(paths.layerDir), 'etc', 'motd'), 'utf8'), 'changed in the sandbox\n');
  assert.equal((await stat(layerTmpDir(paths.layerDir))).mode & 0o7777, 0o1777);
});

test("the sandbox's /tmp starts as its own copy of the template's, owners and modes kept", async () => {
  const copy = join(layerTmpDir(paths.layerDir), 'kept', 'file');
  assert.equal(await readFile(copy, 'utf8'), 'from a build step\n');
  const st = await stat(copy);
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1234, 1235, 0o640]);
  assert.equal((await stat(layerTmpDir(paths.layerDir))).mode & 0o7777, 0o1777);
  await writeFile(copy, 'changed in the sandbox\n');
  assert.equal(await readFile(join(lower, 'tmp', 'kept', 'file'), 'utf8'), 'from a build step\n', 'the template is never written');
});

test('the disk has its size, and a full disk is ENOSPC to the writer', async () => {
  const usage = await writableLayerUsage(paths.layerDir);
  assert.ok(usage.total > SIZE_MB * 1024 * 1024 * 0.8 && usage.total <= SIZE_MB * 1024 * 1024, `total ${usage.total}`);
  const file = await open(join(paths.rootDir, 'fill'), 'w');
  const chunk = Buffer.alloc(1024 * 1024, 1);
  let written = 0;
  let failure: NodeJS.ErrnoException | undefined;
  try {
    for (let i = 0; i < SIZE_MB * 2; i++) {
      written += (await file.write(chunk)).bytesWritten;
      await file.sync();
    }
  } catch (error) {
    failure = error as NodeJS.ErrnoException;
  } finally {
    await file.close().catch(() => undefined);
  }
  assert.equal(failure?.code, 'ENOSPC');
  assert.ok(written <= SIZE_MB * 1024 * 1024);
  const image = await stat(paths.diskImage);
  assert.equal(image.size, SIZE_MB * 1024 * 1024, 'the image never grows past the disk size');
  await rm(join(paths.rootDir, 'fill'));
});

test('unmounting removes both mounts and the image, and is idempotent', async () => {
  await unmountWritableLayer(paths);
  await unmountWritableLayer(paths);
  const points = await readMountPoints();
  assert.equal(points.has(paths.rootDir), false);
  assert.equal(points.has(paths.layerDir), false);
  await assert.rejects(stat(paths.diskImage), { code: 'ENOENT' });
  assert.equal(await readFile(join(lower, 'etc', 'motd'), 'utf8'), 'from the template\n');
});

test('sizes below the minimum are refused', async () => {
  await assert.rejects(mountWritableLayer({ ...paths, diskImage: join(base, 'x.img') }, lower, 4), RangeError);
});
