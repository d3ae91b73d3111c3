import { DEFAULT_TIMER_SLACK_NS } from './timer-slack.js';

/** 50 ms: an idle sandbox's CPU 12× lower than with the kernel's 50 µs, measured (docs/benchmarks.md, "Idle timers"). */
export const DEFAULT_IDLE_TIMER_SLACK_MS = 50;

export interface IdleTimersOptions {
  /** The timer slack of an idle sandbox's gVisor threads, nanoseconds. */
  idleSlackNs: number;
  /** CPU time a sandbox's cgroup has consumed, nanoseconds (undefined when it is gone). */
  readCpuNanos(sandboxId: string): number | undefined;
  /** Sets the timer slack of every thread of a host process. */
  setSlack(pid: number, slackNs: number): void;
  /** How long a sandbox must go without traffic or CPU use before its timers coarsen (default 2 s). */
  quietAfterMs?: number;
  /** CPU use, in cores, from which a sandbox counts as busy (default 0.2). */
  busyCores?: number;
  /** How often CPU use is sampled (default 1 s). */
  tickMs?: number;
  now?: () => number;
}

export interface IdleTimers {
  /** Starts tracking a sandbox's gVisor process (the sentry), with precise timers. */
  track(sandboxId: string, pid: number): void;
  untrack(sandboxId: string): void;
  /**
   * Precise timers from now (synchronously) until the returned release is called (once; more calls
   * do nothing): for traffic to the sandbox, and for work on it in progress.
   */
  hold(sandboxId: string): () => void;
  isCoarse(sandboxId: string): boolean;
  /** One sampling round (run by the timer; exposed for tests). */
  tick(): void;
  /** Stops sampling and makes every tracked sandbox's timers precise again. */
  stop(): void;
}

interface Tracked {
  pid: number;
  holds: number;
  coarse: boolean;
  lastActiveAt: number;
  lastCpuNanos: number | undefined;
  lastSampleAt: number;
}

/**
 * Idle sandboxes cost (almost) no CPU. runsc 20240729's systrap platform runs a monitor goroutine
 * that wakes every 400 µs forever (pkg/sentry/platform/systrap/metrics.go, `controlFastPath`); an
 * idle sandbox burns ~3 s of CPU a minute on it, measured. A coarse timer slack on the sentry's
 * threads lets the host kernel batch those wake-ups (50 ms: ~0.24 s a minute). Coarse only while
 * a sandbox is idle: no exchange through the proxy held open, no work in progress, and less than
 * `busyCores` of CPU use over the last `quietAfterMs`; any of them makes it precise again at once.
 */
export function createIdleTimers(options: IdleTimersOptions): IdleTimers {
  const quietAfterMs = options.quietAfterMs ?? 2_000;
  const busyCores = options.busyCores ?? 0.2;
  const tickMs = options.tickMs ?? 1_000;
  const now = options.now ?? Date.now;
  const tracked = new Map<string, Tracked>();
  let timer: NodeJS.Timeout | undefined;

  const setSlack = (entry: Tracked, coarse: boolean): void => {
    entry.coarse = coarse;
    try {
      options.setSlack(entry.pid, coarse ? options.idleSlackNs : DEFAULT_TIMER_SLACK_NS);
    } catch {
      // the process is gone: the exit watch reports it
    }
  };

  const schedule = (): void => {
    if (timer !== undefined || tracked.size === 0) return;
    timer = setInterval(() => {
      if (tracked.size === 0) {
        clearInterval(timer);
        timer = undefined;
        return;
      }
      idleTimers.tick();
    }, tickMs);
    timer.unref();
  };

  const idleTimers: IdleTimers = {
    track(sandboxId, pid) {
      const at = now();
      // Tracked again (a restore, a reboot): the same entry, so that holds taken before still count.
      const entry: Tracked = tracked.get(sandboxId) ?? { pid, holds: 0, coarse: false, lastActiveAt: at, lastCpuNanos: undefined, lastSampleAt: at };
      Object.assign(entry, { pid, lastActiveAt: at, lastCpuNanos: options.readCpuNanos(sandboxId), lastSampleAt: at });
      tracked.set(sandboxId, entry);
      // A sandbox adopted from an earlier daemon may have been left coarse.
      setSlack(entry, false);
      schedule();
    },
    untrack(sandboxId) {
      tracked.delete(sandboxId);
    },
    hold(sandboxId) {
      const entry = tracked.get(sandboxId);
      if (entry === undefined) return () => undefined;
      entry.holds++;
      entry.lastActiveAt = now();
      if (entry.coarse) setSlack(entry, false);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        entry.holds--;
        entry.lastActiveAt = now();
      };
    },
    isCoarse: (sandboxId) => tracked.get(sandboxId)?.coarse ?? false,
    tick() {
      const at = now();
      for (const [sandboxId, entry] of tracked) {
        const cpuNanos = options.readCpuNanos(sandboxId);
        const elapsedNanos = Math.max(1, (at - entry.lastSampleAt) * 1e6);
        const cores = cpuNanos !== undefined && entry.lastCpuNanos !== undefined ? (cpuNanos - entry.lastCpuNanos) / elapsedNanos : 0;
        entry.lastCpuNanos = cpuNanos;
        entry.lastSampleAt = at;
        if (entry.holds > 0 || cores >= busyCores) {
          entry.lastActiveAt = at;
          if (entry.coarse) setSlack(entry, false);
        } else if (!entry.coarse && at - entry.lastActiveAt >= quietAfterMs) {
          setSlack(entry, true);
        }
      }
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      for (const entry of tracked.values()) if (entry.coarse) setSlack(entry, false);
      tracked.clear();
    },
  };
  return idleTimers;
}
