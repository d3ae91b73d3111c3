/**
 * The sandbox's own out-of-memory killer. The host enforces the memory limit on the whole gVisor
 * sandbox; reaching it makes the sandbox thrash (or the host kill the sandbox itself). Instead the
 * agent watches gVisor's /proc/meminfo and, when available memory falls under a threshold, kills
 * the process with the largest resident set — never PID 1 or the agent — as a kernel's OOM killer
 * would. Kills are remembered so the code interpreter can tell a kernel died of memory.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface MemoryInfo {
  totalBytes: number;
  availableBytes: number;
}

export interface OomKill {
  pid: number;
  command: string;
  rssBytes: number;
  totalBytes: number;
  at: number;
}

export interface MemoryGuard {
  /** The kill of `pid` by the guard within the last minute, if any. */
  killOf(pid: number): OomKill | undefined;
  close(): void;
}

export interface MemoryGuardOptions {
  /** Shortest pause between checks (near the threshold); default 100 ms. */
  intervalMs?: number;
  /** Longest pause between checks (plenty of memory free); default 1000 ms. */
  maxIntervalMs?: number;
  /**
   * The fastest the sandbox is assumed to allocate: the next check comes before memory growing at
   * this rate could eat the headroom above the threshold. Default 2 GiB/s (well above what a
   * process allocates under gVisor).
   */
  fastestGrowthBytesPerSec?: number;
  /** Kill when available memory is below this share of the total. */
  minAvailableRatio?: number;
  /** Processes never chosen (PID 1 and the agent are always protected). */
  protectedPids?: number[];
  onKill?: (kill: OomKill) => void;
  /** For tests: where /proc is. */
  procDir?: string;
}

export function parseMeminfo(text: string): MemoryInfo | undefined {
  const field = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const total = field('MemTotal');
  const available = field('MemAvailable') ?? field('MemFree');
  return total === undefined || available === undefined ? undefined : { totalBytes: total, availableBytes: available };
}

/** The largest process by resident set, skipping `protectedPids`. */
export function largestProcess(procDir: string, protectedPids: Set<number>): { pid: number; command: string; rssBytes: number } | undefined {
  let best: { pid: number; command: string; rssBytes: number } | undefined;
  for (const name of readdirSync(procDir)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || protectedPids.has(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`${procDir}/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    const rssBytes = Number(fields[21] ?? 0) * 4096;
    if (!best || rssBytes > best.rssBytes) best = { pid, command: stat.slice(open + 1, close), rssBytes };
  }
  return best;
}

export function startMemoryGuard(options: MemoryGuardOptions = {}): MemoryGuard {
  const procDir = options.procDir ?? '/proc';
  const ratio = options.minAvailableRatio ?? 0.12;
  const protectedPids = new Set([1, process.pid, ...(options.protectedPids ?? [])]);
  const kills = new Map<number, OomKill>();
  let coolDownUntil = 0;

  const minInterval = options.intervalMs ?? 100;
  const maxInterval = Math.max(minInterval, options.maxIntervalMs ?? 1_000);
  const growthRate = options.fastestGrowthBytesPerSec ?? 2 * 1024 ** 3;

  /** Checks once; returns the memory reading, if there was one. */
  const check = (): MemoryInfo | undefined => {
    const now = Date.now();
    for (const [pid, kill] of kills) if (now - kill.at > 60_000) kills.delete(pid);
    if (now < coolDownUntil) return undefined;
    let info: MemoryInfo | undefined;
    try {
      info = parseMeminfo(readFileSync(`${procDir}/meminfo`, 'utf8'));
    } catch {
      return undefined;
    }
    if (!info || info.availableBytes >= info.totalBytes * ratio) return info;
    const victim = largestProcess(procDir, protectedPids);
    if (!victim) return info;
    try {
      process.kill(victim.pid, 'SIGKILL');
    } catch {
      return info;
    }
    const kill: OomKill = { ...victim, totalBytes: info.totalBytes, at: now };
    kills.set(victim.pid, kill);
    coolDownUntil = now + 500; // let the memory come back before judging again
    options.onKill?.(kill);
    return info;
  };

  // No fixed-rate polling: an idle sandbox with memory to spare is looked at about once a second,
  // one close to its threshold every `intervalMs`.
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const schedule = (info: MemoryInfo | undefined): void => {
    if (closed) return;
    timer = setTimeout(() => schedule(check()), nextCheckDelay(info, ratio, growthRate, minInterval, maxInterval));
    timer.unref();
  };
  schedule(undefined);
  return {
    killOf: (pid) => kills.get(pid),
    close: () => {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * How long until the next check: the time memory growing at `growthRate` needs to eat the headroom
 * above the kill threshold, within [minMs, maxMs]. Without a reading, the shortest pause.
 */
export function nextCheckDelay(info: MemoryInfo | undefined, ratio: number, growthRate: number, minMs: number, maxMs: number): number {
  if (!info) return minMs;
  const headroom = info.availableBytes - info.totalBytes * ratio;
  if (headroom <= 0) return minMs;
  return Math.min(maxMs, Math.max(minMs, Math.floor((headroom / growthRate) * 1000)));
}
