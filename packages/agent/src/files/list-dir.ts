import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describeEntry, withMetadata } from './entry-info.js';
import type { EntryData, EntryDeps } from './entry-info.js';

/**
 * Lists `resolvedDir` up to `depth` levels in lexical depth-first order (symlinked directories are
 * not descended). Reported paths are `requestedDir` joined with the relative path.
 */
export async function listDir(requestedDir: string, resolvedDir: string, depth: number, deps: EntryDeps): Promise<EntryData[]> {
  const out: EntryData[] = [];
  const walk = async (dir: string, shown: string, level: number): Promise<void> => {
    const names = (await readdir(dir)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const full = join(dir, name);
      const st = await lstat(full, { bigint: true }).catch(() => undefined);
      if (!st) continue;
      out.push(await describeEntry(join(shown, name), deps, st));
      if (st.isDirectory() && level < depth) await walk(full, join(shown, name), level + 1);
    }
  };
  await walk(resolvedDir, requestedDir, 1);
  return withMetadata(out, deps);
}
