import { access, readFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the host kernel accounts to one cgroup (all of a sandbox's host processes: sentry, gofer). */
export interface CgroupUsage {
  /** CPU time consumed, nanoseconds, since the cgroup was created. */
  cpuNanos: number;
  /** CPU limit in cores (quota / period), or undefined when unlimited. */
  cpuLimit: number | undefined;
  /** Memory charged (the figure the limit is enforced on), bytes. */
  memUsageBytes: number;
  /** Of that, reclaimable file page cache (active + inactive file pages), bytes. */
  memFileBytes: number;
  /** Memory limit, bytes, or undefined when unlimited. */
  memLimitBytes: number | undefined;
}

/** Largest value cgroup v1 writes for "no limit" is 2^63 rounded down to a page; anything this big is unlimited. */
const UNLIMITED_V1 = 2 ** 62;

const readText = (path: string): Promise<string> => readFile(path, 'utf8');

/** Per cgroup root: whether it is the v2 unified hierarchy (checked once). */
const unifiedRoots = new Map<string, Promise<boolean>>();
const isUnified = (root: string): Promise<boolean> => {
  let known = unifiedRoots.get(root);
  if (known === undefined) {
    known = access(join(root, 'cgroup.controllers')).then(
      () => true,
      () => false,
    );
    unifiedRoots.set(root, known);
  }
  return known;
};

/** `key value` lines (memory.stat, cpu.stat) into a map. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/**
 * Reads a cgroup's usage from the cgroup filesystem at `root` (default /sys/fs/cgroup): v2 when
 * `root/cgroup.controllers` exists (files under `root/<path>`), else v1 (`root/cpuacct/<path>`,
 * `root/memory/<path>`, `root/cpu/<path>`). A handful of small file reads, no process; undefined
 * when the cgroup does not exist.
 */
export async function readCgroupUsage(path: string, root = '/sys/fs/cgroup'): Promise<CgroupUsage | undefined> {
  const unified = await isUnified(root);
  try {
    return unified ? await readV2(join(root, path)) : await readV1(root, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readV1(root: string, path: string): Promise<CgroupUsage> {
  const memory = join(root, 'memory', path);
  const cpu = join(root, 'cpu', path);
  const [usage, memUsage, memLimit, memStat, quota, period] = await Promise.all([
    readText(join(root, 'cpuacct', path, 'cpuacct.usage')),
    readText(join(memory, 'memory.usage_in_bytes')),
    readText(join(memory, 'memory.limit_in_bytes')),
    readText(join(memory, 'memory.stat')),
    readText(join(cpu, 'cpu.cfs_quota_us')),
    readText(join(cpu, 'cpu.cfs_period_us')),
  ]);
  const stat = parseFlatKeyed(memStat);
  const file =
    (stat.get('total_active_file') ?? stat.get('active_file') ?? 0) + (stat.get('total_inactive_file') ?? stat.get('inactive_file') ?? 0);
  const limit = Number(memLimit.trim());
  const quotaUs = Number(quota.trim());
  const periodUs = Number(period.trim());
  return {
    cpuNanos: Number(usage.trim()),
    cpuLimit: quotaUs > 0 && periodUs > 0 ? quotaUs / periodUs : undefined,
    memUsageBytes: Number(memUsage.trim()),
    memFileBytes: file,
    memLimitBytes: limit >= UNLIMITED_V1 ? undefined : limit,
  };
}

async function readV2(dir: string): Promise<CgroupUsage> {
  const [cpuStat, current, max, memStat, cpuMax] = await Promise.all([
    readText(join(dir, 'cpu.stat')),
    readText(join(dir, 'memory.current')),
    readText(join(dir, 'memory.max')),
    readText(join(dir, 'memory.stat')),
    readText(join(dir, 'cpu.max')),
  ]);
  const stat = parseFlatKeyed(memStat);
  const [quota, period] = cpuMax.trim().split(/\s+/);
  const maxText = max.trim();
  return {
    cpuNanos: (parseFlatKeyed(cpuStat).get('usage_usec') ?? 0) * 1000,
    cpuLimit: quota !== undefined && quota !== 'max' && Number(period) > 0 ? Number(quota) / Number(period) : undefined,
    memUsageBytes: Number(current.trim()),
    memFileBytes: (stat.get('active_file') ?? 0) + (stat.get('inactive_file') ?? 0),
    memLimitBytes: maxText === 'max' ? undefined : Number(maxText),
  };
}

/** Per cgroup root: whether it is the v2 unified hierarchy (checked once, synchronously). */
const unifiedRootsSync = new Map<string, boolean>();

/**
 * CPU time a cgroup has consumed, nanoseconds, or undefined when it does not exist: one small
 * synchronous read (v2 `cpu.stat`, v1 `cpuacct.usage`), for callers that sample many cgroups per
 * tick and would otherwise pay a thread-pool round trip for each.
 */
export function readCgroupCpuNanosSync(path: string, root = '/sys/fs/cgroup'): number | undefined {
  let unified = unifiedRootsSync.get(root);
  if (unified === undefined) unifiedRootsSync.set(root, (unified = existsSync(join(root, 'cgroup.controllers'))));
  try {
    if (unified) {
      const usec = parseFlatKeyed(readFileSync(join(root, path, 'cpu.stat'), 'utf8')).get('usage_usec');
      return usec === undefined ? undefined : usec * 1000;
    }
    const nanos = Number(readFileSync(join(root, 'cpuacct', path, 'cpuacct.usage'), 'utf8').trim());
    return Number.isFinite(nanos) ? nanos : undefined;
  } catch {
    return undefined;
  }
}
