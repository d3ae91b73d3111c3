import { access, mkdir, readFile, rename, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from './host-command.js';

/**
 * One snapshot on the host, `<home>/snapshots/<id>/`: `image/` (runsc's checkpoint of the
 * sandbox's memory and kernel), `disk.img` (a sparse copy of its disk) and `versions.json` (the
 * runsc and agent that wrote it). Written into `<id>.partial/` and renamed whole, so a snapshot
 * directory is complete or absent; a leftover `.partial` is deleted.
 */
export function snapshotPaths(home: string, snapshotId: string) {
  const root = join(home, 'snapshots');
  const dir = join(root, snapshotId);
  const partial = `${dir}.partial`;
  return {
    root,
    dir,
    partial,
    image: join(dir, 'image'),
    diskImage: join(dir, 'disk.img'),
    versions: join(dir, 'versions.json'),
  };
}

/** What a snapshot needs to be restored: the same runsc and the same agent image. */
export interface SnapshotVersions {
  runsc: string;
  agentImage: string;
}

/** Copies a file keeping its holes (the disk image is mostly holes). */
export async function copySparse(from: string, to: string, options: OperationOptions = {}): Promise<void> {
  await runCommand('cp', ['--sparse=always', '--reflink=auto', from, to], options);
}

/** Fresh `<id>.partial/` to write a snapshot into. */
export async function prepareSnapshot(home: string, snapshotId: string): Promise<string> {
  const { root, partial } = snapshotPaths(home, snapshotId);
  await mkdir(root, { recursive: true, mode: 0o700 });
  await rm(partial, { recursive: true, force: true });
  await mkdir(join(partial, 'image'), { recursive: true, mode: 0o700 });
  return partial;
}

/** Records the versions and renames the partial snapshot into place (atomic on one filesystem). */
export async function commitSnapshot(home: string, snapshotId: string, versions: SnapshotVersions): Promise<void> {
  const { partial, dir } = snapshotPaths(home, snapshotId);
  await writeFile(join(partial, 'versions.json'), JSON.stringify(versions));
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
}

/** The versions of a complete snapshot; SNAPSHOT_NOT_FOUND when there is none. */
export async function readSnapshotVersions(home: string, snapshotId: string): Promise<SnapshotVersions> {
  const paths = snapshotPaths(home, snapshotId);
  try {
    await access(join(paths.image, 'checkpoint.img'));
    return JSON.parse(await readFile(paths.versions, 'utf8')) as SnapshotVersions;
  } catch {
    throw new SandboxdError(ErrorCode.SNAPSHOT_NOT_FOUND, `snapshot "${snapshotId}" has no image on this host`, { details: { snapshotId } });
  }
}

/** Refuses a snapshot written by another runsc or agent: runsc would crash restoring it, or the agent differ. */
export function checkSnapshotVersions(snapshotId: string, found: SnapshotVersions, current: SnapshotVersions): void {
  const clash = (['runsc', 'agentImage'] as const).filter((k) => found[k] !== current[k]);
  if (clash.length === 0) return;
  const what = clash.map((k) => `${k} ${found[k]} (this daemon: ${current[k]})`).join(', ');
  throw new SandboxdError(ErrorCode.SNAPSHOT_INCOMPATIBLE, `snapshot "${snapshotId}" was written by ${what}; take a new snapshot`, {
    details: { snapshotId, written: found, current },
  });
}

/** Bytes a directory's files take on disk (allocated blocks: sparse files count what they hold). */
export async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (!entry.isFile()) continue;
    const info = await stat(join(entry.parentPath, entry.name)).catch(() => undefined);
    if (info) total += info.blocks * 512;
  }
  return total;
}

/** Deletes a snapshot (and a partial one). Idempotent. */
export async function removeSnapshot(home: string, snapshotId: string): Promise<void> {
  const { dir, partial } = snapshotPaths(home, snapshotId);
  await rm(partial, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
}

/** Ids of the complete snapshots under `home` (written ones; a `.partial` is not). */
export async function listSnapshotIds(home: string): Promise<string[]> {
  const { root } = snapshotPaths(home, 'x');
  return (await readdir(root).catch(() => [] as string[])).filter((name) => !name.endsWith('.partial'));
}

/** Drops snapshots a crash left half-written. */
export async function removePartialSnapshots(home: string): Promise<void> {
  const { root } = snapshotPaths(home, 'x');
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name.endsWith('.partial')) await rm(join(root, name), { recursive: true, force: true });
  }
}
