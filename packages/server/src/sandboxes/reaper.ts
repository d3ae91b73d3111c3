/** Node's setTimeout clamps delays above 2^31-1 ms; longer waits are re-armed in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface Reaper {
  /** (Re-)arms the expiry of one sandbox at `endAt` (unix ms). */
  arm(sandboxId: string, endAt: number): void;
  disarm(sandboxId: string): void;
  /** Disarms everything. */
  stop(): void;
}

/** One timer per sandbox, firing `onExpire` at its end time (precise to the event loop). */
export function createReaper(onExpire: (sandboxId: string) => void, now: () => number = Date.now): Reaper {
  const timers = new Map<string, NodeJS.Timeout>();
  const arm = (sandboxId: string, endAt: number): void => {
    clearTimeout(timers.get(sandboxId));
    const delay = Math.max(0, endAt - now());
    const timer = setTimeout(() => {
      timers.delete(sandboxId);
      if (endAt - now() > 0) arm(sandboxId, endAt);
      else onExpire(sandboxId);
    }, Math.min(delay, MAX_DELAY_MS));
    timer.unref();
    timers.set(sandboxId, timer);
  };
  return {
    arm,
    disarm(sandboxId) {
      clearTimeout(timers.get(sandboxId));
      timers.delete(sandboxId);
    },
    stop() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
