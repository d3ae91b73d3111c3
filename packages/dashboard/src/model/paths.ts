import type { EntryInfo } from '../api/types.js';

/** Paths and entries of the file browser. Pure. */

export type EntryKind = 'dir' | 'file' | 'symlink' | 'other';

/** envd's `FILE_TYPE_*` (Connect JSON enum names) as a kind. */
export function entryKind(entry: Pick<EntryInfo, 'type'>): EntryKind {
  switch (entry.type) {
    case 'FILE_TYPE_DIRECTORY':
      return 'dir';
    case 'FILE_TYPE_FILE':
      return 'file';
    case 'FILE_TYPE_SYMLINK':
      return 'symlink';
    default:
      return 'other';
  }
}

/** The parent of an absolute path (`/` is its own parent); trailing slashes ignored. */
export function parentPath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  const cut = trimmed.lastIndexOf('/');
  return cut <= 0 ? '/' : trimmed.slice(0, cut);
}

/** `dir` joined with `name` (`/` + `a` = `/a`). */
export function joinPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

/** Directories first, then by name (dot files among the rest, case-insensitively). */
export function sortEntries(entries: readonly EntryInfo[]): EntryInfo[] {
  const rank = (e: EntryInfo) => (entryKind(e) === 'dir' ? 0 : 1);
  return [...entries].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name, 'en', { sensitivity: 'base' }) || a.name.localeCompare(b.name));
}

/** A size in bytes from envd's int64 (a string in Connect JSON); undefined when absent or not a number. */
export function entrySize(entry: Pick<EntryInfo, 'size'>): number | undefined {
  const n = typeof entry.size === 'string' ? Number(entry.size) : entry.size;
  return n === undefined || !Number.isFinite(n) ? undefined : n;
}
