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
  intervalMs?: number;
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

  const check = (): void => {
    const now = Date.now();
    for (const [pid, kill] of kills) if (now - kill.at > 60_000) kills.delete(pid);
    if (now < coolDownUntil) return;
    let info: MemoryInfo | undefined;
    try {
      info = parseMeminfo(readFileSync(`${procDir}/meminfo`, 'utf8'));
    } catch {
      return;
    }
    if (!info || info.availableBytes >= info.totalBytes * ratio) return;
    const victim = largestProcess(procDir, protectedPids);
    if (!victim) return;
    try {
      process.kill(victim.pid, 'SIGKILL');
    } catch {
      return;
    }
    const kill: OomKill = { ...victim, totalBytes: info.totalBytes, at: now };
    kills.set(victim.pid, kill);
    coolDownUntil = now + 500; // let the memory come back before judging again
    options.onKill?.(kill);
  };

  const timer = setInterval(check, options.intervalMs ?? 100);
  timer.unref();
  return {
    killOf: (pid) => kills.get(pid),
    close: () => clearInterval(timer),
  };
}
