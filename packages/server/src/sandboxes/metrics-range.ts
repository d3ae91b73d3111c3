import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { MetricsHistory, MetricsSample } from './metrics-history.js';

/** `start`/`end` of `GET /sandboxes/{id}/metrics`, unix seconds; absent ones default to the history's ends. */
export interface MetricsRangeQuery {
  startSec?: number;
  endSec?: number;
}

/** E2B's latest representable time (ClickHouse DateTime64): 2299-12-31T23:59:59.999999999Z, in ms. */
export const MAX_METRICS_TIME_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999);

/**
 * E2B's step for a window: the samples are merged into buckets of this many seconds so an answer
 * stays under ~1000 points (5 s under an hour, then 30 s, 1, 2, 5 and 15 minutes).
 */
export function metricsStepSec(windowMs: number): number {
  const hour = 3_600_000;
  if (windowMs < hour) return 5;
  if (windowMs < 6 * hour) return 30;
  if (windowMs < 12 * hour) return 60;
  if (windowMs < 24 * hour) return 120;
  if (windowMs < 7 * 24 * hour) return 300;
  return 900;
}

/**
 * Merges time-ordered samples into `stepSec` buckets aligned to the epoch, as E2B does: one
 * sample per non-empty bucket, at the bucket's start, each field the maximum within the bucket.
 */
export function bucketSamples(samples: MetricsSample[], stepSec: number): MetricsSample[] {
  const stepMs = stepSec * 1000;
  const out: MetricsSample[] = [];
  for (const s of samples) {
    const at = Math.floor(s.at / stepMs) * stepMs;
    const last = out[out.length - 1];
    if (last === undefined || last.at !== at) {
      out.push({ ...s, at });
      continue;
    }
    last.cpuCount = Math.max(last.cpuCount, s.cpuCount);
    last.cpuUsedPct = Math.max(last.cpuUsedPct, s.cpuUsedPct);
    last.memUsed = Math.max(last.memUsed, s.memUsed);
    last.memTotal = Math.max(last.memTotal, s.memTotal);
    last.memCache = Math.max(last.memCache, s.memCache);
    last.diskUsed = Math.max(last.diskUsed, s.diskUsed);
    last.diskTotal = Math.max(last.diskTotal, s.diskTotal);
  }
  return out;
}

/**
 * E2B's answer for a window of one sandbox's history: an absent `start` is its oldest sample, an
 * absent `end` its newest (the epoch for a sandbox without samples); both ends are inclusive; the
 * samples are bucketed by `metricsStepSec` of the window. `live`, a reading newer than the history,
 * counts as its newest sample. A start after the end, or either after 2299, is BAD_REQUEST
 * "Invalid time range for metrics".
 */
export function queryHistory(history: MetricsHistory | undefined, query: MetricsRangeQuery, live?: MetricsSample): MetricsSample[] {
  const newest = history?.latest();
  const extra = live !== undefined && (newest === undefined || live.at > newest.at) ? live : undefined;
  const startMs = query.startSec !== undefined ? query.startSec * 1000 : (history?.oldest()?.at ?? extra?.at ?? 0);
  const endMs = query.endSec !== undefined ? query.endSec * 1000 : (extra?.at ?? newest?.at ?? 0);
  if (startMs > MAX_METRICS_TIME_MS || endMs > MAX_METRICS_TIME_MS || startMs > endMs) {
    throw new SandboxdError(ErrorCode.BAD_REQUEST, 'Invalid time range for metrics');
  }
  const samples = history?.range(startMs, endMs) ?? [];
  if (extra !== undefined && extra.at >= startMs && extra.at <= endMs) samples.push(extra);
  return bucketSamples(samples, metricsStepSec(endMs - startMs));
}
