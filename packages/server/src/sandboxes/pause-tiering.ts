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
}

export interface PauseTiering {
  /** A sandbox was frozen (or found frozen at start): due for disk after the grace period. */
  frozen(sandboxId: string): void;
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
  const available = options.availableBytes ?? memAvailableBytes;
  let pressureTimer: NodeJS.Timeout | undefined;
  let checking = false;

  const due = (sandboxId: string): void => {
    forget(sandboxId);
    options.toDisk(sandboxId);
  };
  const forget = (sandboxId: string): void => {
    clearTimeout(timers.get(sandboxId));
    timers.delete(sandboxId);
    if (timers.size === 0 && pressureTimer !== undefined) {
      clearInterval(pressureTimer);
      pressureTimer = undefined;
    }
  };
  const checkPressure = async (): Promise<void> => {
    if (checking) return;
    checking = true;
    try {
      const bytes = await available();
      if (bytes !== undefined && bytes < options.minAvailableBytes) for (const id of [...timers.keys()]) due(id);
    } finally {
      checking = false;
    }
  };

  return {
    frozen(sandboxId) {
      clearTimeout(timers.get(sandboxId));
      const timer = setTimeout(() => due(sandboxId), options.graceMs);
      timer.unref();
      timers.set(sandboxId, timer);
      if (pressureTimer === undefined) {
        pressureTimer = setInterval(() => void checkPressure().catch(() => undefined), options.pressureCheckMs ?? 2_000);
        pressureTimer.unref();
      }
      void checkPressure().catch(() => undefined);
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
  forget: () => undefined,
  stop: () => undefined,
};
