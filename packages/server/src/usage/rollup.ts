/** Usage rollups are kept per sandbox per minute. */
export const MINUTE_MS = 60_000;

/** Cumulative counters of a sandbox at one moment (what the usage cursor remembers). */
export interface UsageCursor {
  /** Unix milliseconds. */
  at: number;
  /** Cumulative CPU time of the sandbox, ns. */
  cpuNanos: number;
  /** Cumulative bytes the sandbox sent out through its egress firewall. */
  egressBytes: number;
  /** Cumulative bytes the network sent into the sandbox (downloads, replies). */
  ingressBytes: number;
}

/** A reading of a running sandbox. */
export interface UsageReading {
  at: number;
  /** Cumulative CPU time, ns; undefined when the runtime does not count it. */
  cpuNanos?: number;
  /** Memory in use (without page cache), bytes. */
  memBytes: number;
  /** Cumulative egress bytes; undefined when the runtime does not count them. */
  egressBytes?: number;
  /** Cumulative ingress bytes; undefined when the runtime does not count them. */
  ingressBytes?: number;
}

/** Usage accrued over some time, in the units `GET /usage` reports. */
export interface UsageAmounts {
  sandboxSeconds: number;
  cpuSeconds: number;
  memoryGiBSeconds: number;
  executions: number;
  egressBytes: number;
  ingressBytes: number;
}

export const zeroAmounts = (): UsageAmounts => ({ sandboxSeconds: 0, cpuSeconds: 0, memoryGiBSeconds: 0, executions: 0, egressBytes: 0, ingressBytes: 0 });

const GIB = 1024 ** 3;

/** Growth of a cumulative counter; a counter that went back (reset) counts from zero. */
const growth = (previous: number, current: number | undefined): number => {
  if (current === undefined) return 0;
  return current >= previous ? current - previous : current;
};

/**
 * What a sandbox used between `cursor` and `reading`: wall time, CPU, egress and ingress from the growth
 * of the cumulative counters, memory as the reading's memory over the whole interval. Returns the
 * cursor to measure the next reading from. A reading not after the cursor accrues nothing.
 */
export function accrue(cursor: UsageCursor, reading: UsageReading): { amounts: UsageAmounts; cursor: UsageCursor } {
  const next: UsageCursor = {
    at: Math.max(cursor.at, reading.at),
    cpuNanos: reading.cpuNanos ?? cursor.cpuNanos,
    egressBytes: reading.egressBytes ?? cursor.egressBytes,
    ingressBytes: reading.ingressBytes ?? cursor.ingressBytes,
  };
  const seconds = Math.max(0, reading.at - cursor.at) / 1000;
  return {
    amounts: {
      sandboxSeconds: seconds,
      cpuSeconds: growth(cursor.cpuNanos, reading.cpuNanos) / 1e9,
      memoryGiBSeconds: (Math.max(0, reading.memBytes) / GIB) * seconds,
      executions: 0,
      egressBytes: growth(cursor.egressBytes, reading.egressBytes),
      ingressBytes: growth(cursor.ingressBytes, reading.ingressBytes),
    },
    cursor: next,
  };
}

/**
 * Splits `amounts` accrued evenly over [from, to) into the minutes it spans (unix seconds of each
 * minute's start → its share). Executions are not split (they happen at `to`); an empty interval
 * puts everything in the minute of `to`.
 */
export function splitByMinute(from: number, to: number, amounts: UsageAmounts): Map<number, UsageAmounts> {
  const out = new Map<number, UsageAmounts>();
  const minuteOf = (ms: number): number => Math.floor(ms / MINUTE_MS) * 60;
  const add = (minute: number, share: number, withExecutions: boolean): void => {
    const row = out.get(minute) ?? zeroAmounts();
    row.sandboxSeconds += amounts.sandboxSeconds * share;
    row.cpuSeconds += amounts.cpuSeconds * share;
    row.memoryGiBSeconds += amounts.memoryGiBSeconds * share;
    row.egressBytes += amounts.egressBytes * share;
    row.ingressBytes += amounts.ingressBytes * share;
    if (withExecutions) row.executions += amounts.executions;
    out.set(minute, row);
  };
  if (to <= from) {
    add(minuteOf(to), 1, true);
    return out;
  }
  const span = to - from;
  for (let start = from; start < to; ) {
    const end = Math.min(to, (Math.floor(start / MINUTE_MS) + 1) * MINUTE_MS);
    add(minuteOf(start), (end - start) / span, end === to);
    start = end;
  }
  // Whole bytes per minute; the rounding remainder goes to the last minute so the total is exact.
  const minutes = [...out.keys()];
  for (const field of ['egressBytes', 'ingressBytes'] as const) {
    let assigned = 0;
    minutes.forEach((m, i) => {
      const row = out.get(m)!;
      row[field] = i === minutes.length - 1 ? amounts[field] - assigned : Math.floor(row[field]);
      assigned += row[field];
    });
  }
  return out;
}

/** Adds `b` into `a`. */
export function addInto(a: UsageAmounts, b: UsageAmounts): UsageAmounts {
  a.sandboxSeconds += b.sandboxSeconds;
  a.cpuSeconds += b.cpuSeconds;
  a.memoryGiBSeconds += b.memoryGiBSeconds;
  a.executions += b.executions;
  a.egressBytes += b.egressBytes;
  a.ingressBytes += b.ingressBytes;
  return a;
}
