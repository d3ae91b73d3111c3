import { constants } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { FileType } from '@sandboxd/protocol';
import type { UserDb } from '../users/user-db.js';
import type { MetadataStore } from './metadata.js';
import { goModeString } from './mode-string.js';

/** EntryInfo as plain data (the RPC layer turns it into the protobuf message). */
export interface EntryData {
  name: string;
  type: FileType;
  path: string;
  size: bigint;
  mode: number;
  permissions: string;
  owner: string;
  group: string;
  modifiedTime: { seconds: bigint; nanos: number };
  symlinkTarget?: string;
  metadata: Record<string, string>;
}

export interface EntryDeps {
  users: UserDb;
  metadata: MetadataStore;
}

function typeOf(mode: number): FileType {
  const fmt = mode & constants.S_IFMT;
  if (fmt === constants.S_IFREG) return FileType.FILE;
  if (fmt === constants.S_IFDIR) return FileType.DIRECTORY;
  if (fmt === constants.S_IFLNK) return FileType.SYMLINK;
  return FileType.UNSPECIFIED;
}

/**
 * Describes `path` without following it, as envd does: a symlink reports the fully resolved target
 * in `symlinkTarget` and takes its type and mode from the target (UNSPECIFIED when dangling).
 * Rejects with the lstat error (ENOENT etc.). Metadata is left empty; see `withMetadata`.
 */
export async function describeEntry(path: string, deps: EntryDeps, known?: BigIntStats): Promise<EntryData> {
  const st = known ?? (await lstat(path, { bigint: true }));
  const mode = Number(st.mode);
  let type = typeOf(mode);
  let perm = mode & 0o777;
  let symlinkTarget: string | undefined;
  if (type === FileType.SYMLINK) {
    symlinkTarget = await realpath(path).catch(() => path);
    const target = await stat(symlinkTarget).catch(() => undefined);
    type = target ? typeOf(target.mode) : FileType.UNSPECIFIED;
    perm = target ? target.mode & 0o777 : 0;
  }
  const entry: EntryData = {
    name: basename(path),
    type,
    path,
    size: st.size,
    mode: perm,
    permissions: goModeString(mode),
    owner: deps.users.userName(Number(st.uid)),
    group: deps.users.groupName(Number(st.gid)),
    modifiedTime: { seconds: st.mtimeNs / 1_000_000_000n, nanos: Number(st.mtimeNs % 1_000_000_000n) },
    metadata: {},
  };
  if (symlinkTarget !== undefined) entry.symlinkTarget = symlinkTarget;
  return entry;
}

/** Fills in `metadata` for a batch of entries with one xattr lookup. */
export async function withMetadata(entries: EntryData[], deps: EntryDeps): Promise<EntryData[]> {
  const candidates = entries.filter((e) => e.type !== FileType.UNSPECIFIED).map((e) => e.path);
  if (candidates.length === 0) return entries;
  const found = await deps.metadata.read(candidates);
  for (const e of entries) {
    const md = found.get(e.path);
    if (md) e.metadata = md;
  }
  return entries;
}

/** describeEntry + metadata for a single path. */
export async function entryInfo(path: string, deps: EntryDeps): Promise<EntryData> {
  const [entry] = await withMetadata([await describeEntry(path, deps)], deps);
  return entry as EntryData;
}
