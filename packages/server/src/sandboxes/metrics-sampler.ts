import { ErrorCode, isSandboxdError } from '@sandboxd/protocol';
import type { RuntimeMetrics } from '../runtime/sandbox-runtime.js';
import type { OperationOptions } from '@sandboxd/protocol';
import { MetricsHistory, type MetricsSample } from './metrics-history.js';
import { queryHistory, type MetricsRangeQuery } from './metrics-range.js';

/** E2B samples every sandbox every 5 s (orchestrator `sandboxMetricExportPeriod`). */
export const METRICS_INTERVAL_MS = 5_000;
/** Samples kept per sandbox: 24 h at 5 s (E2B's longest sandbox session), ≈1.1 MB at most. */
export const METRICS_CAPACITY = 17_280;

/** What the sampler needs of the sandbox service. */
export interface SampledSandboxes {
  running(): Array<{ sandboxId: string }>;
  find(sandboxId: string): unknown;
  metrics(sandboxId: string, options?: OperationOptions): Promise<RuntimeMetrics>;
  onEnd(listener: (record: { sandboxId: string }) => void): () => void;
}

export interface MetricsSamplerOptions {
  sandboxes: SampledSandboxes;
  intervalMs?: number;
  capacity?: number;
  /** Deadline of one sample. */
  sampleTimeoutMs?: number;
  now?: () => number;
  /** Told about samples that failed for another reason than the sandbox being gone. */
  onError?: (sandboxId: string, error: unknown) => void;
  /** Told about every sample stored, with the runtime's reading it came from (usage metering). */
  onSample?: (sandboxId: string, sample: MetricsSample, metrics: RuntimeMetrics) => void;
}

/**
 * The resource history of every running sandbox: one timer for all of them samples each one every
 * `intervalMs` (aligned to multiples of it on the wall clock, so each E2B 5 s bucket gets one
 * sample), into a bounded history per sandbox that goes when the sandbox does.
 */
export interface MetricsSampler {
  /** Arms the timer (idempotent). */
  start(): void;
  /** Disarms it; histories stay readable. */
  stop(): void;
  /** One sampling round over every running sandbox (what the timer runs). */
  sampleAll(): Promise<void>;
  /**
   * A reading of a running sandbox taken now, not stored (the history keeps the timer's samples;
   * the first reading of a sandbox without any is stored, so it has one); undefined when the
   * sandbox is not running or cannot be read.
   */
  live(sandboxId: string, options?: OperationOptions): Promise<MetricsSample | undefined>;
  /** E2B's answer for a window (see `queryHistory`), with `live` (a reading of now) as its newest sample; [] for a sandbox with no history. */
  query(sandboxId: string, range: MetricsRangeQuery, live?: MetricsSample): MetricsSample[];
  latest(sandboxId: string): MetricsSample | undefined;
  /** Cumulative CPU time at the newest stored sample, ns (undefined when the runtime does not count it). */
  cpuNanos(sandboxId: string): number | undefined;
  /** Every stored sample of a sandbox as taken (not bucketed), oldest first. */
  samples(sandboxId: string): MetricsSample[];
  /** Sandboxes with a history, and the bytes those hold. */
  usage(): { sandboxes: number; samples: number; bytes: number };
}

export function createMetricsSampler(options: MetricsSamplerOptions): MetricsSampler {
  const { sandboxes } = options;
  const intervalMs = options.intervalMs ?? METRICS_INTERVAL_MS;
  const capacity = options.capacity ?? METRICS_CAPACITY;
  const sampleTimeoutMs = options.sampleTimeoutMs ?? 2_000;
  const now = options.now ?? Date.now;
  const histories = new Map<string, MetricsHistory>();
  /** The sample being taken of a sandbox: one at a time each, so a history only grows in time order. */
  const inFlight = new Map<string, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  /** The timer is armed for `boundary × intervalMs` on the wall clock. */
  let boundary = 0;

  /** Cumulative CPU time at each sandbox's newest stored sample. */
  const lastCpu = new Map<string, { at: number; cpuNanos: number }>();
  const drop = (sandboxId: string): void => {
    histories.delete(sandboxId);
    lastCpu.delete(sandboxId);
  };
  // A sandbox's history goes with it.
  sandboxes.onEnd((record) => drop(record.sandboxId));

  /** A reading as a sample: CPU use since the newest stored sample when the runtime counts CPU time. */
  const toSample = (sandboxId: string, at: number, m: RuntimeMetrics): MetricsSample => {
    const previous = lastCpu.get(sandboxId);
    let cpuUsedPct = m.cpuUsedPct;
    if (m.cpuNanos !== undefined && previous !== undefined && at > previous.at) {
      const share = (m.cpuNanos - previous.cpuNanos) / ((at - previous.at) * 1e6) / Math.max(1, m.cpuCount);
      cpuUsedPct = Math.round(Math.min(1, Math.max(0, share)) * 10_000) / 100;
    }
    return {
      at,
      cpuCount: m.cpuCount,
      cpuUsedPct,
      memUsed: m.memUsedBytes,
      memTotal: m.memTotalBytes,
      memCache: m.memCacheBytes,
      diskUsed: m.diskUsedBytes,
      diskTotal: m.diskTotalBytes,
    };
  };

  /** Reads a running sandbox; undefined when it is gone (or ended meanwhile) or the read failed. */
  const read = async (sandboxId: string, op: OperationOptions): Promise<{ sample: MetricsSample; cpuNanos: number | undefined; metrics: RuntimeMetrics } | undefined> => {
    try {
      const m = await sandboxes.metrics(sandboxId, { signal: op.signal, timeoutMs: op.timeoutMs ?? sampleTimeoutMs });
      // A sandbox that ended while it was being read keeps no history.
      if (sandboxes.find(sandboxId) === undefined) return undefined;
      return { sample: toSample(sandboxId, now(), m), cpuNanos: m.cpuNanos, metrics: m };
    } catch (error) {
      if (isSandboxdError(error) && error.code === ErrorCode.SANDBOX_NOT_FOUND) drop(sandboxId);
      else options.onError?.(sandboxId, error);
      return undefined;
    }
  };

  /** Takes and stores a sample; one at a time per sandbox, so a history only grows in time order. */
  const sampleOne = (sandboxId: string, op: OperationOptions = {}): Promise<void> => {
    const pending = inFlight.get(sandboxId);
    if (pending) return pending;
    const taking = (async () => {
      try {
        const got = await read(sandboxId, op);
        if (got === undefined) return;
        let history = histories.get(sandboxId);
        if (history === undefined) histories.set(sandboxId, (history = new MetricsHistory(capacity)));
        if (!history.push(got.sample)) return;
        if (got.cpuNanos !== undefined) lastCpu.set(sandboxId, { at: got.sample.at, cpuNanos: got.cpuNanos });
        try {
          options.onSample?.(sandboxId, got.sample, got.metrics);
        } catch (error) {
          options.onError?.(sandboxId, error);
        }
      } finally {
        inFlight.delete(sandboxId);
      }
    })();
    inFlight.set(sandboxId, taking);
    return taking;
  };

  const sampleAll = async (): Promise<void> => {
    const running = sandboxes.running().map((r) => r.sandboxId);
    const alive = new Set(running);
    for (const id of histories.keys()) if (!alive.has(id)) drop(id);
    await Promise.all(running.map((id) => sampleOne(id)));
  };

  const arm = (): void => {
    const t = now();
    // The next boundary after both now and the last one (a timer may fire a millisecond early).
    boundary = Math.max(Math.floor(t / intervalMs) + 1, boundary + 1);
    timer = setTimeout(onTick, boundary * intervalMs - t);
    timer.unref();
  };
  const onTick = (): void => {
    arm();
    // A round still running when the next is due (a slow host) makes that one skip.
    if (round) return;
    round = sampleAll().finally(() => (round = undefined));
  };

  return {
    start() {
      if (timer === undefined) arm();
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
    sampleAll,
    async live(sandboxId, op = {}) {
      if (sandboxes.find(sandboxId) === undefined) return undefined;
      if (histories.get(sandboxId)?.latest() === undefined) {
        await sampleOne(sandboxId, op);
        return histories.get(sandboxId)?.latest();
      }
      // After a sample being stored, so the CPU use is measured from it.
      await inFlight.get(sandboxId);
      return (await read(sandboxId, op))?.sample;
    },
    query: (sandboxId, range, live) => queryHistory(histories.get(sandboxId), range, live),
    latest: (sandboxId) => histories.get(sandboxId)?.latest(),
    cpuNanos: (sandboxId) => lastCpu.get(sandboxId)?.cpuNanos,
    samples: (sandboxId) => histories.get(sandboxId)?.range(-Infinity, Infinity) ?? [],
    usage() {
      let samples = 0;
      let bytes = 0;
      for (const h of histories.values()) {
        samples += h.size;
        bytes += h.bytes;
      }
      return { sandboxes: histories.size, samples, bytes };
    },
  };
}
