import { readFile, statfs } from 'node:fs/promises';
import { cpus } from 'node:os';

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

interface CpuSample {
  idle: number;
  total: number;
}

async function cpuSample(): Promise<CpuSample> {
  const text = await readFile('/proc/stat', 'utf8');
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  const nums = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = nums;
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
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

/** Reads metrics from /proc and statfs('/'); CPU usage is measured since the previous call. */
export function createMetricsReader(): () => Promise<EnvdMetrics> {
  let previous: CpuSample | undefined;
  return async () => {
    let before = previous;
    if (!before) {
      before = await cpuSample();
      await new Promise((r) => setTimeout(r, 100));
    }
    const now = await cpuSample();
    previous = now;
    const dTotal = now.total - before.total;
    const dIdle = now.idle - before.idle;
    const cpuPct = dTotal > 0 ? Math.round(((dTotal - dIdle) / dTotal) * 10000) / 100 : 0;
    const mem = parseMeminfo(await readFile('/proc/meminfo', 'utf8'));
    const total = mem.get('MemTotal') ?? 0;
    const available = mem.get('MemAvailable') ?? mem.get('MemFree') ?? 0;
    const used = Math.max(0, total - available);
    const disk = await statfs('/').catch(() => undefined);
    const diskTotal = disk ? disk.blocks * disk.bsize : 0;
    const diskUsed = disk ? (disk.blocks - disk.bfree) * disk.bsize : 0;
    return {
      ts: Math.floor(Date.now() / 1000),
      cpu_count: cpus().length,
      cpu_used_pct: cpuPct,
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
