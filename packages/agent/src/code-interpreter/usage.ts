/**
 * Resource usage of a kernel's process tree during one execution, from /proc:
 * CPU from `stat` (utime+stime+cutime+cstime), memory from sampled RSS, plus `VmHWM`
 * when the kernel's peak could be reset through `clear_refs`. /proc reads are synchronous on
 * purpose: each is a few microseconds, far cheaper than a thread-pool round trip (gVisor).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { UsageLine } from '@sandboxd/protocol';

const TICK_MS = 10; // USER_HZ is 100 on Linux
const PAGE_BYTES = 4096;
const SAMPLE_MS = 100;
const RESCAN_MS = 1000;

export interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  cpuTicks: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat (fields after the parenthesised command name). */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).trim().split(/\s+/);
  // f[0] is field 3 (state); field n is f[n - 3].
  const num = (n: number): number => Number(f[n - 3] ?? 0);
  return { ppid: num(4), cpuTicks: num(14) + num(15) + num(16) + num(17), rssPages: num(24) };
}

function readStat(pid: number): ProcStat | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function readStats(pids: Iterable<number>): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  return stats;
}

/** The pid and all its live descendants, with their stats (one pass over /proc). */
function readTree(root: number): Map<number, ProcStat> {
  const all = new Map<number, ProcStat>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return readStats([root]);
  }
  for (const name of entries) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readStat(pid);
    if (stat) all.set(pid, stat);
  }
  const tree = new Map<number, ProcStat>();
  const rootStat = all.get(root);
  if (!rootStat) return tree;
  tree.set(root, rootStat);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [pid, stat] of all) {
      if (!tree.has(pid) && tree.has(stat.ppid)) {
        tree.set(pid, stat);
        grew = true;
      }
    }
  }
  return tree;
}

function vmHwmBytes(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function rssOf(tree: Map<number, ProcStat>): number {
  let pages = 0;
  for (const stat of tree.values()) pages += stat.rssPages;
  return pages * PAGE_BYTES;
}

export interface UsageMeter {
  /** Stops sampling and returns the usage line (wall time measured by the caller). */
  stop(wallTimeMs: number): UsageLine;
}

/** Descendants seen at the end of the previous execution, per kernel pid. */
const knownTrees = new Map<number, number[]>();

/**
 * Starts measuring the process tree of `pid`. The start reads only the processes known from the
 * previous execution; the full /proc pass happens once per second while sampling and at the end.
 */
export function startUsageMeter(pid: number): UsageMeter {
  const known = knownTrees.get(pid);
  const start = known ? readStats(known) : readTree(pid);
  let pids = [...start.keys()];
  const hwmReset = (() => {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  })();
  let peak = rssOf(start);
  let lastScan = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - lastScan >= RESCAN_MS) {
      const tree = readTree(pid);
      pids = [...tree.keys()];
      lastScan = Date.now();
      peak = Math.max(peak, rssOf(tree));
    } else {
      peak = Math.max(peak, rssOf(readStats(pids)));
    }
  }, SAMPLE_MS);
  timer.unref();

  return {
    stop(wallTimeMs: number): UsageLine {
      clearInterval(timer);
      const end = readTree(pid);
      if (end.size > 0) knownTrees.set(pid, [...end.keys()]);
      else knownTrees.delete(pid);
      peak = Math.max(peak, rssOf(end));
      if (hwmReset) peak = Math.max(peak, vmHwmBytes(pid) ?? 0);
      let ticks = 0;
      for (const [p, stat] of end) {
        // A process not seen at the start was born during the execution: all its time counts.
        ticks += Math.max(0, stat.cpuTicks - (start.get(p)?.cpuTicks ?? 0));
      }
      return {
        type: 'usage',
        wall_time_ms: Math.round(wallTimeMs),
        cpu_time_ms: ticks * TICK_MS,
        peak_memory_bytes: peak,
      };
    },
  };
}
