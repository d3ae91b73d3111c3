import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MetricsHistory, SAMPLE_BYTES, type MetricsSample } from './metrics-history.js';

const sample = (at: number, memUsed = at): MetricsSample => ({
  at,
  cpuCount: 2,
  cpuUsedPct: (at % 100) / 2,
  memUsed,
  memTotal: 2 ** 31,
  memCache: 7,
  diskUsed: 4096 * at,
  diskTotal: 4_210_786_304,
});

describe('MetricsHistory', () => {
  it('keeps samples oldest first with every field intact', () => {
    const h = new MetricsHistory(10);
    for (const at of [1000, 2000, 3000]) assert.equal(h.push(sample(at)), true);
    assert.equal(h.size, 3);
    assert.deepEqual(h.range(0, Infinity), [sample(1000), sample(2000), sample(3000)]);
    assert.deepEqual(h.oldest(), sample(1000));
    assert.deepEqual(h.latest(), sample(3000));
  });

  it('is bounded: past the capacity each new sample replaces the oldest, and memory stops growing', () => {
    const capacity = 100;
    const h = new MetricsHistory(capacity);
    for (let i = 1; i <= 1000; i++) h.push(sample(i * 5000));
    assert.equal(h.size, capacity);
    assert.equal(h.bytes, capacity * SAMPLE_BYTES);
    const all = h.range(0, Infinity);
    assert.equal(all.length, capacity);
    assert.equal(all[0]!.at, 901 * 5000);
    assert.equal(all[capacity - 1]!.at, 1000 * 5000);
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.at > all[i - 1]!.at, 'in time order across the wrap');
  });

  it('starts small and grows by doubling, never past the capacity', () => {
    const h = new MetricsHistory(17_280);
    assert.equal(h.bytes, 64 * SAMPLE_BYTES);
    for (let i = 0; i < 65; i++) h.push(sample(i));
    assert.equal(h.bytes, 128 * SAMPLE_BYTES);
    assert.deepEqual(h.range(0, Infinity).map((s) => s.at), Array.from({ length: 65 }, (_, i) => i));
    const small = new MetricsHistory(3);
    for (let i = 0; i < 10; i++) small.push(sample(i));
    assert.equal(small.bytes, 3 * SAMPLE_BYTES);
    assert.deepEqual(small.range(0, Infinity).map((s) => s.at), [7, 8, 9]);
  });

  it('drops a sample older than the newest (time order is kept)', () => {
    const h = new MetricsHistory(5);
    h.push(sample(2000));
    assert.equal(h.push(sample(1000)), false);
    assert.equal(h.push(sample(2000, 99)), true, 'an equal time is accepted');
    assert.deepEqual(h.range(0, Infinity).map((s) => s.at), [2000, 2000]);
  });

  it('range() is inclusive at both ends, also after the ring wrapped', () => {
    const h = new MetricsHistory(8);
    for (let i = 0; i < 20; i++) h.push(sample(i * 10));
    // Kept: 120..190.
    assert.deepEqual(h.range(140, 170).map((s) => s.at), [140, 150, 160, 170]);
    assert.deepEqual(h.range(141, 169).map((s) => s.at), [150, 160]);
    assert.deepEqual(h.range(0, 125).map((s) => s.at), [120]);
    assert.deepEqual(h.range(191, 500), []);
    assert.deepEqual(h.range(0, 100), []);
  });

  it('rejects a capacity that is not a positive integer', () => {
    assert.throws(() => new MetricsHistory(0), RangeError);
    assert.throws(() => new MetricsHistory(1.5), RangeError);
  });
});
