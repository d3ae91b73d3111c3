import { readFile } from 'node:fs/promises';

/** When sandboxes frozen in memory move to disk: after a grace period, or at once under memory pressure. */
export interface PauseTieringOptions {
  /** Time in memory before the checkpoint to disk, ms. */
  graceMs: number;
  /** Below this much available host memory (bytes) every frozen sandbox goes to disk. */
  minAvailableBytes: number;
  /** Called when a frozen sandbox is due for disk; its failures are the caller's to handle. */
  toDisk: (sandboxId: string) => void;
  /** Available host memory in bytes (default: MemAvailable of /proc/meminfo). */
  availableBytes?: () => Promise<number | undefined>;
  /** How often memory is checked while some sandbox is frozen in memory, ms (default 2 s). */
  pressureCheckMs?: number;
  /** Longest wait before another try after refused checkpoints, ms (default 30 min). */
  maxRetryMs?: number;
}

export interface PauseTiering {
  /** A sandbox was frozen (or found frozen at start): due for disk after the grace period. */
  frozen(sandboxId: string): void;
  /**
   * Its checkpoint was refused (it stays frozen in memory): tried again after twice the previous
   * wait (the grace period first), up to `maxRetryMs`; memory pressure does not hurry it, since
   * what the runtime refused (a connection the frozen sandbox holds) does not go away by itself.
   */
  refused(sandboxId: string): void;
  /** The sandbox left the memory tier (resumed, checkpointed, killed). */
  forget(sandboxId: string): void;
  stop(): void;
}

/** MemAvailable of /proc/meminfo in bytes, or undefined where there is none. */
export async function memAvailableBytes(): Promise<number | undefined> {
  const text = await readFile('/proc/meminfo', 'utf8').catch(() => '');
  const match = /^MemAvailable:\s+(\d+) kB$/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}

export function createPauseTiering(options: PauseTieringOptions): PauseTiering {
  const timers = new Map<string, NodeJS.Timeout>();
  /** Sandboxes whose checkpoint was refused: the wait before their next try, ms. */
  const retryWaits = new Map<string, number>();
  const available = options.availableBytes ?? memAvailableBytes;
  let pressureTimer: NodeJS.Timeout | undefined;
  let checking = false;

  const due = (sandboxId: string): void => {
    clearTimer(sandboxId);
    options.toDisk(sandboxId);
  };
  const clearTimer = (sandboxId: string): void => {
    clearTimeout(timers.get(sandboxId));
    timers.delete(sandboxId);
    if (timers.size === 0 && pressureTimer !== undefined) {
      clearInterval(pressureTimer);
      pressureTimer = undefined;
    }
  };
  const forget = (sandboxId: string): void => {
    retryWaits.delete(sandboxId);
    clearTimer(sandboxId);
  };
  const schedule = (sandboxId: string, waitMs: number): void => {
    clearTimeout(timers.get(sandboxId));
    const timer = setTimeout(() => due(sandboxId), waitMs);
    timer.unref();
    timers.set(sandboxId, timer);
  };
  const checkPressure = async (): Promise<void> => {
    if (checking) return;
    checking = true;
    try {
      const bytes = await available();
      if (bytes !== undefined && bytes < options.minAvailableBytes) {
        for (const id of [...timers.keys()]) if (!retryWaits.has(id)) due(id);
      }
    } finally {
      checking = false;
    }
  };

  return {
    frozen(sandboxId) {
      retryWaits.delete(sandboxId);
      schedule(sandboxId, options.graceMs);
      if (pressureTimer === undefined) {
        pressureTimer = setInterval(() => void checkPressure().catch(() => undefined), options.pressureCheckMs ?? 2_000);
        pressureTimer.unref();
      }
      void checkPressure().catch(() => undefined);
    },
    refused(sandboxId) {
      const previous = retryWaits.get(sandboxId);
      const waitMs = Math.min(previous === undefined ? Math.max(options.graceMs, 1_000) : previous * 2, options.maxRetryMs ?? 30 * 60_000);
      retryWaits.set(sandboxId, waitMs);
      schedule(sandboxId, waitMs);
    },
    forget,
    stop() {
      for (const id of [...timers.keys()]) forget(id);
    },
  };
}

/** Tiering with the disk tier off: frozen sandboxes stay in memory until resumed or killed. */
export const memoryOnlyTiering: PauseTiering = {
  frozen: () => undefined,
  refused: () => undefined,
  forget: () => undefined,
  stop: () => undefined,
};
