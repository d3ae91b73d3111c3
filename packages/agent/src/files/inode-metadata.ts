import { stat } from 'node:fs/promises';
import type { MetadataStore } from './metadata.js';

/** Files whose metadata this store holds at most (each set is ≤ 4096 bytes, validateMetadata). */
const MAX_FILES = 50_000;

/**
 * The file behind a path, across renames: device, inode and birth time. gVisor reports no birth
 * time (0), so there a removed file's inode reused by a new file shows the old file's metadata.
 */
async function fileKey(path: string): Promise<string | undefined> {
  try {
    const st = await stat(path, { bigint: true });
    return `${st.dev}:${st.ino}:${st.birthtimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * User metadata kept in the agent's memory, keyed by the file (device, inode, birth time) rather
 * than its path, so a rename keeps it and a removed file's metadata is not another path's. For
 * filesystems that refuse `user.*` xattrs (gVisor's gofer-served root: lisafs answers EOPNOTSUPP)
 * and templates without setfattr.
 * It lives as long as the agent (a memory pause keeps it).
 */
export function createInodeMetadataStore(maxFiles = MAX_FILES): MetadataStore {
  const byFile = new Map<string, Record<string, string>>();
  return {
    async read(paths) {
      const out = new Map<string, Record<string, string>>();
      if (byFile.size === 0) return out;
      for (const path of paths) {
        const key = await fileKey(path);
        const md = key === undefined ? undefined : byFile.get(key);
        if (md) out.set(path, { ...md });
      }
      return out;
    },
    async replace(path, metadata) {
      const key = await fileKey(path);
      if (key === undefined) throw new Error(`no such file: ${path}`);
      if (Object.keys(metadata).length === 0) {
        byFile.delete(key);
        return;
      }
      if (!byFile.has(key) && byFile.size >= maxFiles) throw new Error(`metadata of more than ${maxFiles} files`);
      byFile.set(key, { ...metadata });
    },
  };
}

/** Whether an xattr store's error says the filesystem refuses user xattrs. */
function unsupported(err: unknown): boolean {
  return (err as { code?: unknown }).code === 'ENOTSUP';
}

/**
 * xattrs where the filesystem takes them (E2B's `user.e2b.*`, visible to `getfattr` in the
 * sandbox), else `fallback`; reads merge both (xattrs win).
 */
export function withMetadataFallback(xattrs: MetadataStore, fallback: MetadataStore): MetadataStore {
  return {
    async read(paths) {
      const found = await xattrs.read(paths);
      const rest = paths.filter((p) => !found.has(p));
      for (const [path, md] of await fallback.read(rest)) found.set(path, md);
      return found;
    },
    async replace(path, metadata) {
      try {
        await xattrs.replace(path, metadata);
      } catch (err) {
        if (!unsupported(err)) throw err;
        await fallback.replace(path, metadata);
        return;
      }
      // Stored as xattrs (or cleared there): no stale copy in the fallback.
      await fallback.replace(path, {}).catch(() => undefined);
    },
  };
}
