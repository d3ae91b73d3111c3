import { readFile, statfs } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';

/** envd's GET /metrics body. */
export interface EnvdMetrics {
  ts: number;
  cpu_count: number;
  cpu_used_pct: number;
  mem_total: number;
  mem_used: number;
  mem_cache: number;
  mem_total_mib: number;
  mem_used_mib: number;
  disk_used: number;
  disk_total: number;
}

/** Cumulative CPU counters: busy time and, for /proc/stat, the total it is a share of. */
interface CpuSample {
  /** Wall clock of the reading, ms. */
  at: number;
  /** Busy CPU time, ns (cgroup) or clock ticks (/proc/stat). */
  busy: number;
  /** /proc/stat only: all CPU time (busy + idle), ticks; undefined for a cgroup counter. */
  total: number | undefined;
}

export interface MetricsReaderOptions {
  /** Default /proc. */
  procDir?: string;
  /** Default /sys/fs/cgroup. */
  cgroupDir?: string;
  /** The filesystem whose size and use are reported (default /: the sandbox's disk). */
  diskPath?: string;
}

const readNumber = async (path: string): Promise<number | undefined> => {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  const value = text === undefined ? NaN : Number(text.trim());
  return Number.isFinite(value) ? value : undefined;
};

/**
 * The sandbox's CPU time. gVisor leaves every time in /proc/stat at zero, so the sandbox's own
 * cgroup counter comes first (v1 cpuacct.usage, v2 cpu.stat usage_usec); /proc/stat is the fallback.
 */
async function cpuSample(procDir: string, cgroupDir: string): Promise<CpuSample> {
  const at = Date.now();
  const v1 = await readNumber(join(cgroupDir, 'cpuacct', 'cpuacct.usage'));
  if (v1 !== undefined) return { at, busy: v1, total: undefined };
  const v2 = await readFile(join(cgroupDir, 'cpu.stat'), 'utf8').catch(() => undefined);
  const usec = v2 === undefined ? undefined : /^usage_usec (\d+)$/m.exec(v2)?.[1];
  if (usec !== undefined) return { at, busy: Number(usec) * 1000, total: undefined };
  const text = await readFile(join(procDir, 'stat'), 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  const nums = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = nums;
  const busy = user + nice + system + irq + softirq + steal;
  return { at, busy, total: busy + idle + iowait };
}

/** Percent of all `cpuCount` CPUs busy between two samples, two decimals. */
export function cpuPercent(before: CpuSample, now: CpuSample, cpuCount: number): number {
  let share: number;
  if (now.total !== undefined && before.total !== undefined) {
    const dTotal = now.total - before.total;
    share = dTotal > 0 ? (now.busy - before.busy) / dTotal : 0;
  } else {
    const elapsedNs = (now.at - before.at) * 1e6;
    share = elapsedNs > 0 ? (now.busy - before.busy) / elapsedNs / cpuCount : 0;
  }
  return Math.round(Math.min(1, Math.max(0, share)) * 10000) / 100;
}

/** Parses /proc/meminfo into bytes per key. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m?.[1] && m[2]) out.set(m[1], Number(m[2]) * (line.includes('kB') ? 1024 : 1));
  }
  return out;
}

/** Reads metrics from the sandbox's cgroup, /proc and statfs('/'); CPU usage is measured since the previous call. */
export function createMetricsReader(options: MetricsReaderOptions = {}): () => Promise<EnvdMetrics> {
  const procDir = options.procDir ?? '/proc';
  const cgroupDir = options.cgroupDir ?? '/sys/fs/cgroup';
  const diskPath = options.diskPath ?? '/';
  let previous: CpuSample | undefined;
  return async () => {
    let before = previous;
    if (!before) {
      before = await cpuSample(procDir, cgroupDir);
      await new Promise((r) => setTimeout(r, 100));
    }
    const now = await cpuSample(procDir, cgroupDir);
    previous = now;
    const cpuCount = cpus().length;
    const mem = parseMeminfo(await readFile(join(procDir, 'meminfo'), 'utf8'));
    const total = mem.get('MemTotal') ?? 0;
    const available = mem.get('MemAvailable') ?? mem.get('MemFree') ?? 0;
    const used = Math.max(0, total - available);
    const disk = await statfs(diskPath).catch(() => undefined);
    const diskTotal = disk ? disk.blocks * disk.bsize : 0;
    const diskUsed = disk ? (disk.blocks - disk.bfree) * disk.bsize : 0;
    return {
      ts: Math.floor(Date.now() / 1000),
      cpu_count: cpuCount,
      cpu_used_pct: cpuPercent(before, now, cpuCount),
      mem_total: total,
      mem_used: used,
      mem_cache: (mem.get('Cached') ?? 0) + (mem.get('SReclaimable') ?? 0),
      mem_total_mib: Math.floor(total / 1024 / 1024),
      mem_used_mib: Math.floor(used / 1024 / 1024),
      disk_used: diskUsed,
      disk_total: diskTotal,
    };
  };
}
