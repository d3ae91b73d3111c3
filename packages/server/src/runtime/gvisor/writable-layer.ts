import { chmod, mkdir, open, readdir, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from './host-command.js';
import { readMountPoints, releaseMount } from './read-only-mount.js';
import { copySparse } from './snapshot-images.js';

/** Where one sandbox's writable layer lives on the host. */
export interface WritableLayerPaths {
  /** Sparse file holding the sandbox's disk (an ext4 image of the disk size). */
  diskImage: string;
  /** Mount point of that disk: `upper/` and `work/` of the overlay, and `tmp/`. */
  layerDir: string;
  /** The overlay of the read-only template root and the disk: the sandbox's root filesystem. */
  rootDir: string;
}

/** Directories inside the layer. */
export const layerUpperDir = (layerDir: string): string => join(layerDir, 'upper');
const layerWorkDir = (layerDir: string): string => join(layerDir, 'work');
/** The sandbox's /tmp: on its disk, not in its memory (gVisor would otherwise mount a tmpfs). */
export const layerTmpDir = (layerDir: string): string => join(layerDir, 'tmp');

/**
 * The sandbox's disk: a sparse ext4 image of exactly `sizeMB`, loop-mounted at `layerDir`, and a
 * host overlayfs at `rootDir` with the template root as its read-only lower layer and the disk as
 * its upper layer. gVisor serves `rootDir` as the sandbox's root (no overlay of its own), so:
 * writes are file data on disk (page cache, reclaimable), not sandbox memory; `df /` inside shows
 * the disk's real size; a full disk is ENOSPC from the host kernel to the writer; and the host
 * disk a sandbox can take is bounded by its size. The template itself is never written.
 */
export async function mountWritableLayer(
  paths: WritableLayerPaths,
  lowerDir: string,
  sizeMB: number,
  options: OperationOptions = {},
  fromImage?: string,
): Promise<void> {
  if (!Number.isInteger(sizeMB) || sizeMB < 16) throw new RangeError(`disk size must be an integer of at least 16 MiB, got ${sizeMB}`);
  await mkdir(paths.layerDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.rootDir, { recursive: true, mode: 0o755 });
  if (fromImage !== undefined) {
    // A snapshot's disk: its own copy (sparse), so children never share a writable byte.
    await copySparse(fromImage, paths.diskImage, options);
  } else {
    const image = await open(paths.diskImage, 'w', 0o600);
    try {
      await image.truncate(sizeMB * 1024 * 1024);
    } finally {
      await image.close();
    }
    // No journal (the disk dies with the sandbox), no reserved blocks, lazy init: ~10 ms.
    await runCommand('mkfs.ext4', ['-q', '-F', '-m', '0', '-O', '^has_journal', '-E', 'lazy_itable_init=1,nodiscard', paths.diskImage], options);
  }
  // Direct I/O on the loop device: the image's data is cached once (the ext4 inside), not twice
  // (also as the image file's pages), which made large writes several times slower.
  const { stdout } = await runCommand('losetup', ['--find', '--show', '--direct-io=on', paths.diskImage], options);
  const device = stdout.trim();
  try {
    await runCommand('mount', ['-o', 'nosuid,nodev', device, paths.layerDir], options);
  } finally {
    // Detaching a mounted loop device only marks it: it goes away with its last unmount.
    await runCommand('losetup', ['--detach', device], { ...options, okExitCodes: [0, 1] });
  }
  await mkdir(layerUpperDir(paths.layerDir), { recursive: true, mode: 0o755 });
  await mkdir(layerWorkDir(paths.layerDir), { recursive: true, mode: 0o700 });
  await mkdir(layerTmpDir(paths.layerDir), { recursive: true });
  await chmod(layerTmpDir(paths.layerDir), 0o1777);
  const overlayOptions = [
    `lowerdir=${lowerDir}`,
    `upperdir=${layerUpperDir(paths.layerDir)}`,
    `workdir=${layerWorkDir(paths.layerDir)}`,
    'nosuid',
    'nodev',
  ].join(',');
  await runCommand('mount', ['-t', 'overlay', 'sandboxd-root', '-o', overlayOptions, paths.rootDir], options);
  if (fromImage === undefined) await seedSandboxTmp(paths, options);
}

/**
 * A template's /tmp (what its build steps left there) becomes the new sandbox's own /tmp: a copy
 * on the sandbox's disk, so no sandbox sees another's writes and the template stays untouched.
 * An empty template /tmp (the default templates') costs one readdir.
 */
async function seedSandboxTmp(paths: WritableLayerPaths, options: OperationOptions): Promise<void> {
  const from = join(paths.rootDir, 'tmp');
  const entries = await readdir(from).catch(() => [] as string[]);
  if (entries.length === 0) return;
  const to = layerTmpDir(paths.layerDir);
  // -a: no symlink is followed, owners, modes and times are kept; the sandbox's /tmp stays 1777.
  await runCommand('cp', ['-a', `${from}/.`, to], options);
  await chmod(to, 0o1777);
}

/** Unmounts the root overlay and the disk (lazily: a dying sandbox may still hold them) and deletes the image. Idempotent. */
export async function unmountWritableLayer(paths: WritableLayerPaths, options: OperationOptions = {}): Promise<void> {
  await releaseMount(paths.rootDir, options);
  await releaseMount(paths.layerDir, options);
  // The loop device (marked autoclear at mount) detaches by itself once its last user is gone.
  await rm(paths.diskImage, { force: true });
}

/** Whether the layer is mounted (a sandbox adopted after a restart keeps its mounts). */
export async function writableLayerMounted(paths: WritableLayerPaths): Promise<boolean> {
  const points = await readMountPoints();
  return points.has(paths.rootDir) && points.has(paths.layerDir);
}

/**
 * Copies the disk of a frozen sandbox consistently: the filesystem is frozen on the host (its
 * dirty pages written, no write in between) while the image is copied.
 */
export async function copyFrozenDisk(paths: WritableLayerPaths, to: string, options: OperationOptions = {}): Promise<void> {
  await runCommand('fsfreeze', ['--freeze', paths.layerDir], options);
  try {
    await copySparse(paths.diskImage, to, options);
  } finally {
    await runCommand('fsfreeze', ['--unfreeze', paths.layerDir], {});
  }
}

/** Bytes used and total of the sandbox's disk. */
export async function writableLayerUsage(layerDir: string): Promise<{ used: number; total: number }> {
  try {
    const stats = await statfs(layerDir);
    return { used: (stats.blocks - stats.bfree) * stats.bsize, total: stats.blocks * stats.bsize };
  } catch {
    return { used: 0, total: 0 };
  }
}
