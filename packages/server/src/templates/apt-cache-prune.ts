import { existsSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from '../runtime/gvisor/host-command.js';

/** The apt archive cache the built-in template builds share, inside the templates directory. */
export const APT_CACHE_DIR = '.apt-archives';

/** Default bound of that cache (`SANDBOXD_APT_CACHE_MAX_MB`): both built-in templates' packages fit. */
export const DEFAULT_APT_CACHE_MAX_MB = 2048;

export interface AptCachePruneResult {
  /** `.deb` files removed. */
  removed: number;
  /** Bytes they held. */
  bytes: number;
  /** Bytes the cache holds after the prune. */
  keptBytes: number;
  /** Set when nothing was pruned because a template build is using the cache. */
  skipped?: string;
}

interface Deb {
  name: string;
  /** `package` and architecture: one version of each is worth keeping. */
  key: string;
  version: string;
  size: number;
  /** Links beyond the cache's own: a build in progress has the file linked into its root. */
  inUse: boolean;
  /** Last time a build linked the file in or out (a link changes the inode's ctime). */
  usedAt: number;
}

/** `apt_3.0.4_amd64.deb` → package, version (apt escapes the epoch's `:` as `%3a`), architecture. */
function parseDebName(name: string): { pkg: string; version: string; arch: string } | undefined {
  const m = /^([^_]+)_([^_]+)_([^_]+)\.deb$/.exec(name);
  if (!m) return undefined;
  return { pkg: m[1] as string, version: decodeURIComponent(m[2] as string), arch: m[3] as string };
}

/** Whether a built-in template build runs: its `<hash>.partial-<pid>` directory with that pid alive. */
function buildRunning(templatesDir: string, names: string[]): boolean {
  return names.some((n) => {
    const pid = /\.partial-(\d+)$/.exec(n)?.[1];
    return pid !== undefined && existsSync(`/proc/${pid}`);
  });
}

/** dpkg's own order of versions (`dpkg --compare-versions`): true when `a` is newer than `b`. */
async function newer(a: string, b: string, options: OperationOptions): Promise<boolean> {
  // Exit 0: true; 1 (or a version dpkg cannot parse): false.
  return runCommand('dpkg', ['--compare-versions', a, 'gt', b], options).then(
    () => true,
    () => false,
  );
}

/**
 * Prunes the shared apt archive cache: every package version older than the newest cached one of
 * the same package and architecture (apt fetches only the mirror's current one), then, while the
 * cache is over `maxBytes`, the least recently used files. Nothing is removed while a built-in
 * template build runs (it links the cache into its root and back), nor any file another directory
 * links to. Removing a file a build linked already is safe: the build keeps its own link.
 */
export async function pruneAptCache(templatesDir: string, maxBytes: number, options: OperationOptions = {}): Promise<AptCachePruneResult> {
  const cache = join(templatesDir, APT_CACHE_DIR);
  const siblings = await readdir(templatesDir).catch(() => [] as string[]);
  const names = await readdir(cache).catch(() => [] as string[]);
  if (buildRunning(templatesDir, siblings)) {
    return { removed: 0, bytes: 0, keptBytes: 0, skipped: 'a template build is running' };
  }
  const debs: Deb[] = [];
  for (const name of names) {
    const parsed = parseDebName(name);
    const st = await lstat(join(cache, name)).catch(() => undefined);
    if (!parsed || !st?.isFile()) continue;
    debs.push({ name, key: `${parsed.pkg}:${parsed.arch}`, version: parsed.version, size: st.size, inUse: st.nlink > 1, usedAt: st.ctimeMs });
  }
  const result: AptCachePruneResult = { removed: 0, bytes: 0, keptBytes: 0 };
  const removeDeb = async (deb: Deb): Promise<void> => {
    await rm(join(cache, deb.name), { force: true });
    result.removed += 1;
    result.bytes += deb.size;
  };
  const kept: Deb[] = [];
  const groups = new Map<string, Deb[]>();
  for (const deb of debs) groups.set(deb.key, [...(groups.get(deb.key) ?? []), deb]);
  for (const group of groups.values()) {
    let newest = group[0] as Deb;
    for (const deb of group.slice(1)) if (await newer(deb.version, newest.version, options)) newest = deb;
    for (const deb of group) {
      if (deb === newest || deb.inUse) kept.push(deb);
      else await removeDeb(deb);
    }
  }
  let total = kept.reduce((sum, d) => sum + d.size, 0);
  for (const deb of [...kept].sort((a, b) => a.usedAt - b.usedAt)) {
    if (total <= maxBytes) break;
    if (deb.inUse) continue;
    await removeDeb(deb);
    total -= deb.size;
  }
  result.keptBytes = total;
  return result;
}
