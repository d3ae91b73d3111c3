import { readFileSync } from 'node:fs';

/** Identity of a host process: its pid and its start time (so a reused pid is not mistaken for it). */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/**
 * The identity of a live (non-zombie) process, or undefined when there is none. Synchronous: one
 * small procfs read, cheaper than the four thread-pool round trips of an asynchronous readFile
 * (the exit watch does this for every sandbox four times a second).
 */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // pid (comm) state ... : comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return undefined;
  // starttime is field 22 of stat; fields[] starts at field 3.
  return { pid, startTime: fields[19] ?? '' };
}

function isAlive(identity: ProcessIdentity): boolean {
  const now = processIdentity(identity.pid);
  return now !== undefined && now.startTime === identity.startTime;
}

export interface ExitWatch {
  /** Watches a sandbox's process; `onExit` fires once when it is gone. */
  watch(sandboxId: string, identity: ProcessIdentity): void;
  unwatch(sandboxId: string): void;
  watching(): string[];
  stop(): void;
}

/**
 * Notices within `intervalMs` that a watched process has exited, for any reason (OOM killer,
 * pids limit, crash, a kill from outside). Node cannot wait on processes that are not its
 * children, so it polls /proc: one small read per sandbox per interval, and nothing at all when
 * no sandbox runs.
 */
export function createExitWatch(onExit: (sandboxId: string) => void, intervalMs = 250): ExitWatch {
  const watched = new Map<string, ProcessIdentity>();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;

  const poll = (): void => {
    if (polling) return;
    polling = true;
    try {
      for (const [sandboxId, identity] of [...watched]) {
        if (isAlive(identity)) continue;
        if (watched.get(sandboxId) !== identity) continue;
        watched.delete(sandboxId);
        onExit(sandboxId);
      }
    } finally {
      polling = false;
      schedule();
    }
  };

  const schedule = (): void => {
    if (timer !== undefined || watched.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      poll();
    }, intervalMs);
    timer.unref();
  };

  return {
    watch(sandboxId, identity) {
      watched.set(sandboxId, identity);
      schedule();
    },
    unwatch(sandboxId) {
      watched.delete(sandboxId);
    },
    watching: () => [...watched.keys()],
    stop() {
      watched.clear();
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
