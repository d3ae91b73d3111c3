import { accrue, addInto, splitByMinute, zeroAmounts, type UsageAmounts, type UsageCursor, type UsageReading } from './rollup.js';
import type { KeyUsage, MinuteRow, UsageQuery, UsageStore } from './usage-store.js';

/** Flush of the pending minutes to SQLite (and of the cursors with them). */
export const USAGE_FLUSH_MS = 60_000;

/** What the meter needs to know of a sandbox. */
export interface MeteredSandbox {
  sandboxId: string;
  ownerKeyId?: string | null;
  /** Unix milliseconds: a sandbox first read without a cursor is measured from here, counters from zero. */
  startedAt: number;
}

/**
 * Usage per API key: every stored metrics sample of a sandbox accrues its sandbox-seconds, CPU
 * memory, egress and ingress since the previous one (`rollup.ts`) into per-sandbox per-minute rows,
 * kept in memory and added to SQLite every `USAGE_FLUSH_MS`, before a query and at close. The
 * cumulative counters' cursor is stored in the same transaction, so after a restart (or a crash)
 * the next sample accrues everything since the last flush: nothing is lost or counted twice
 * except executions of the unflushed minute after a crash.
 */
export interface UsageMeter {
  /** A reading of a running sandbox (the metrics sampler's stored samples). */
  observe(sandbox: MeteredSandbox, reading: UsageReading): void;
  /** A code execution or a started command, counted at `at` (default now). */
  execution(sandbox: MeteredSandbox, at?: number): void;
  /** Egress bytes counted outside the sandbox's cumulative counter (the domain filter's relay). */
  egress(sandbox: MeteredSandbox, bytes: number, at?: number): void;
  /** Ingress bytes counted outside the sandbox's cumulative counter (the domain filter's relay). */
  ingress(sandbox: MeteredSandbox, bytes: number, at?: number): void;
  /** The sandbox ended at `at`: its wall time since the last reading is added, its cursor dropped. */
  ended(sandbox: MeteredSandbox, at?: number): void;
  /** Drops stored cursors of sandboxes not in `runningIds` (they ended while the daemon was down). */
  prune(runningIds: Iterable<string>): void;
  flush(): void;
  query(q: UsageQuery): KeyUsage[];
  /** Arms the flush timer (idempotent). */
  start(): void;
  /** Disarms it and flushes. */
  stop(): void;
}

export function createUsageMeter(options: { store: UsageStore; now?: () => number; flushMs?: number; onError?: (error: unknown) => void }): UsageMeter {
  const { store } = options;
  const now = options.now ?? Date.now;
  /** Pending rows by `sandboxId\0minute`. */
  const pending = new Map<string, MinuteRow>();
  const cursors = new Map<string, UsageCursor & { memBytes: number }>();
  const dirty = new Set<string>();
  const dropped: string[] = [];
  let timer: NodeJS.Timeout | undefined;

  const add = (sandbox: MeteredSandbox, minutes: Map<number, UsageAmounts>): void => {
    for (const [minute, amounts] of minutes) {
      const key = `${sandbox.sandboxId}\0${minute}`;
      const row = pending.get(key) ?? { sandboxId: sandbox.sandboxId, keyId: sandbox.ownerKeyId ?? null, minute, ...zeroAmounts() };
      addInto(row, amounts);
      pending.set(key, row);
    }
  };

  const cursorOf = (sandbox: MeteredSandbox): UsageCursor & { memBytes: number } => {
    let cursor = cursors.get(sandbox.sandboxId);
    if (cursor === undefined) {
      const stored = store.cursor(sandbox.sandboxId);
      cursor = { ...(stored ?? { at: sandbox.startedAt, cpuNanos: 0, egressBytes: 0, ingressBytes: 0 }), memBytes: 0 };
      cursors.set(sandbox.sandboxId, cursor);
    }
    return cursor;
  };

  const flush = (): void => {
    if (pending.size === 0 && dirty.size === 0 && dropped.length === 0) return;
    const rows = [...pending.values()];
    const written = new Map<string, UsageCursor>();
    for (const id of dirty) {
      const c = cursors.get(id);
      if (c) written.set(id, { at: c.at, cpuNanos: c.cpuNanos, egressBytes: c.egressBytes, ingressBytes: c.ingressBytes });
    }
    const drop = dropped.splice(0);
    try {
      store.commit(rows, written, drop);
    } catch (error) {
      dropped.push(...drop);
      options.onError?.(error);
      return;
    }
    pending.clear();
    dirty.clear();
  };

  return {
    observe(sandbox, reading) {
      const cursor = cursorOf(sandbox);
      if (reading.at <= cursor.at) return;
      const from = cursor.at;
      const { amounts, cursor: next } = accrue(cursor, reading);
      add(sandbox, splitByMinute(from, reading.at, amounts));
      cursors.set(sandbox.sandboxId, { ...next, memBytes: reading.memBytes });
      dirty.add(sandbox.sandboxId);
    },
    execution(sandbox, at = now()) {
      add(sandbox, splitByMinute(at, at, { ...zeroAmounts(), executions: 1 }));
    },
    egress(sandbox, bytes, at = now()) {
      if (bytes > 0) add(sandbox, splitByMinute(at, at, { ...zeroAmounts(), egressBytes: bytes }));
    },
    ingress(sandbox, bytes, at = now()) {
      if (bytes > 0) add(sandbox, splitByMinute(at, at, { ...zeroAmounts(), ingressBytes: bytes }));
    },
    ended(sandbox, at = now()) {
      const cursor = cursorOf(sandbox);
      if (at > cursor.at) {
        const seconds = (at - cursor.at) / 1000;
        const tail = { ...zeroAmounts(), sandboxSeconds: seconds, memoryGiBSeconds: (cursor.memBytes / 1024 ** 3) * seconds };
        add(sandbox, splitByMinute(cursor.at, at, tail));
      }
      cursors.delete(sandbox.sandboxId);
      dirty.delete(sandbox.sandboxId);
      dropped.push(sandbox.sandboxId);
      flush();
    },
    prune(runningIds) {
      const alive = new Set(runningIds);
      for (const id of store.cursorIds()) if (!alive.has(id)) dropped.push(id);
      flush();
    },
    flush,
    query(q) {
      flush();
      return store.query(q);
    },
    start() {
      if (timer !== undefined) return;
      timer = setInterval(flush, options.flushMs ?? USAGE_FLUSH_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      flush();
    },
  };
}
