import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSandboxdError } from '@sandboxd/protocol';
import { MetricsHistory, type MetricsSample } from './metrics-history.js';
import { MAX_METRICS_TIME_MS, bucketSamples, metricsStepSec, queryHistory } from './metrics-range.js';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const sample = (at: number, fields: Partial<MetricsSample> = {}): MetricsSample => ({
  at,
  cpuCount: 2,
  cpuUsedPct: 1,
  memUsed: 100,
  memTotal: 1000,
  memCache: 10,
  diskUsed: 50,
  diskTotal: 500,
  ...fields,
});

/** Samples every 5 s, a few ms after each boundary (as the sampler takes them), for `count` samples. */
function history(count: number, capacity = 20_000): MetricsHistory {
  const h = new MetricsHistory(capacity);
  for (let i = 0; i < count; i++) h.push(sample(T0 + i * 5000 + 3, { memUsed: 100 + i }));
  return h;
}

const badRange = (error: unknown) => isSandboxdError(error) && error.status === 400 && error.message === 'Invalid time range for metrics';

describe('metrics windows (E2B semantics)', () => {
  it('steps: 5 s under an hour, then 30 s, 1, 2, 5 and 15 minutes', () => {
    const h = 3_600_000;
    assert.equal(metricsStepSec(0), 5);
    assert.equal(metricsStepSec(h - 1), 5);
    assert.equal(metricsStepSec(h), 30);
    assert.equal(metricsStepSec(6 * h), 60);
    assert.equal(metricsStepSec(12 * h), 120);
    assert.equal(metricsStepSec(24 * h), 300);
    assert.equal(metricsStepSec(7 * 24 * h), 900);
  });

  it('buckets start at multiples of the step and hold each field\'s maximum', () => {
    const merged = bucketSamples(
      [sample(T0 + 1, { cpuUsedPct: 80, memUsed: 5 }), sample(T0 + 4999, { cpuUsedPct: 10, memUsed: 9 }), sample(T0 + 5000, { cpuUsedPct: 3 })],
      5,
    );
    assert.equal(merged.length, 2);
    assert.deepEqual(merged[0], sample(T0, { cpuUsedPct: 80, memUsed: 9 }));
    assert.deepEqual(merged[1], sample(T0 + 5000, { cpuUsedPct: 3 }));
  });

  it('without start and end: the whole history, one point per 5 s sample, in order', () => {
    const got = queryHistory(history(12), {});
    assert.equal(got.length, 12);
    got.forEach((s, i) => {
      assert.equal(s.at, T0 + i * 5000, 'the bucket start');
      assert.equal(s.memUsed, 100 + i);
    });
  });

  it('start and end (seconds) are inclusive bounds on the sample times', () => {
    const h = history(12);
    const from = (T0 + 10_000) / 1000;
    const got = queryHistory(h, { startSec: from, endSec: from + 20 });
    // Samples at +10.003, +15.003, +20.003, +25.003 s; +30.003 is after end = +30 s.
    assert.deepEqual(got.map((s) => s.memUsed), [102, 103, 104, 105]);
    assert.deepEqual(queryHistory(h, { startSec: from }).map((s) => s.memUsed), [102, 103, 104, 105, 106, 107, 108, 109, 110, 111]);
    assert.deepEqual(queryHistory(h, { endSec: from }).map((s) => s.memUsed), [100, 101]);
    assert.deepEqual(queryHistory(h, { startSec: from, endSec: from }), []);
    assert.deepEqual(queryHistory(h, { startSec: 0, endSec: T0 / 1000 - 1 }), []);
  });

  it('a long window is merged into coarser buckets (under 1000 points)', () => {
    // Two hours of 5 s samples: a 2 h window steps by 30 s.
    const h = history(1440);
    const got = queryHistory(h, {});
    assert.equal(got.length, 240);
    assert.equal(got[1]!.at - got[0]!.at, 30_000);
    assert.equal(got[0]!.memUsed, 105, 'the maximum of the first six samples');
    // From the epoch: a 60-year window steps by 15 minutes.
    assert.equal(queryHistory(h, { startSec: 0 }).length, 8);
  });

  it('rejects start after end, and times after 2299, as E2B does (400)', () => {
    const h = history(3);
    assert.throws(() => queryHistory(h, { startSec: 200, endSec: 100 }), badRange);
    assert.throws(() => queryHistory(h, { startSec: Math.ceil((MAX_METRICS_TIME_MS + 1) / 1000) }), badRange);
    assert.throws(() => queryHistory(h, { startSec: 0, endSec: Math.ceil((MAX_METRICS_TIME_MS + 1) / 1000) }), badRange);
    // A start after the newest sample with no end: the end defaults to that sample, before the start.
    assert.throws(() => queryHistory(h, { startSec: T0 / 1000 + 3600 }), badRange);
  });

  it('a live reading is the newest sample: it extends the default end and obeys an explicit one', () => {
    const h = history(3);
    const live = sample(T0 + 12_400, { memUsed: 999 });
    assert.deepEqual(queryHistory(h, {}, live).map((s) => s.memUsed), [100, 101, 999]);
    assert.deepEqual(queryHistory(h, { endSec: T0 / 1000 + 12 }, live).map((s) => s.memUsed), [100, 101, 102]);
    assert.deepEqual(queryHistory(undefined, {}, live).map((s) => s.at), [T0 + 10_000]);
    assert.deepEqual(queryHistory(h, {}, sample(T0, { memUsed: 5 })).map((s) => s.memUsed), [100, 101, 102], 'not newer than the history: ignored');
  });

  it('no history: [] (an unknown or ended sandbox), except a start past the epoch with no end', () => {
    assert.deepEqual(queryHistory(undefined, {}), []);
    assert.deepEqual(queryHistory(undefined, { startSec: 5, endSec: 10 }), []);
    assert.throws(() => queryHistory(undefined, { startSec: 5 }), badRange);
  });
});
