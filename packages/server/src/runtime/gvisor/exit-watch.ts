import { readFile } from 'node:fs/promises';

/** Identity of a host process: its pid and its start time (so a reused pid is not mistaken for it). */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

/** The identity of a live (non-zombie) process, or undefined when there is none. */
export async function processIdentity(pid: number): Promise<ProcessIdentity | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // pid (comm) state ... : comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  if (state === 'Z' || state === 'X' || state === 'x') return undefined;
  // starttime is field 22 of stat; fields[] starts at field 3.
  return { pid, startTime: fields[19] ?? '' };
}

async function isAlive(identity: ProcessIdentity): Promise<boolean> {
  const now = await processIdentity(identity.pid);
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

  const poll = async (): Promise<void> => {
    if (polling) return;
    polling = true;
    try {
      const checks = [...watched].map(async ([sandboxId, identity]) => {
        if (await isAlive(identity)) return;
        if (watched.get(sandboxId) !== identity) return;
        watched.delete(sandboxId);
        onExit(sandboxId);
      });
      await Promise.all(checks);
    } finally {
      polling = false;
      schedule();
    }
  };

  const schedule = (): void => {
    if (timer !== undefined || watched.size === 0) return;
    timer = setTimeout(() => {
      timer = undefined;
      void poll();
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
