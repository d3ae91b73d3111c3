import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { accrue, splitByMinute, zeroAmounts } from './rollup.js';

const GIB = 1024 ** 3;
const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} ≠ ${expected}`);

describe('usage rollup arithmetic', () => {
  it('accrues wall time, CPU growth, memory × time and egress and ingress growth since the cursor', () => {
    const { amounts, cursor } = accrue({ at: 10_000, cpuNanos: 2e9, egressBytes: 100, ingressBytes: 50 }, { at: 15_000, cpuNanos: 4.5e9, memBytes: 2 * GIB, egressBytes: 1100, ingressBytes: 5050 });
    close(amounts.sandboxSeconds, 5);
    close(amounts.cpuSeconds, 2.5);
    close(amounts.memoryGiBSeconds, 10);
    assert.equal(amounts.egressBytes, 1000);
    assert.equal(amounts.ingressBytes, 5000);
    assert.equal(amounts.executions, 0);
    assert.deepEqual(cursor, { at: 15_000, cpuNanos: 4.5e9, egressBytes: 1100, ingressBytes: 5050 });
  });

  it('a counter that went back counts from zero; an absent one accrues nothing and keeps the cursor', () => {
    const { amounts, cursor } = accrue({ at: 0, cpuNanos: 9e9, egressBytes: 500, ingressBytes: 7 }, { at: 1000, cpuNanos: 1e9, memBytes: 0 });
    close(amounts.cpuSeconds, 1);
    assert.equal(amounts.egressBytes, 0);
    assert.equal(cursor.egressBytes, 500);
    assert.equal(cursor.ingressBytes, 7);
  });

  it('a reading not after the cursor accrues nothing', () => {
    const { amounts, cursor } = accrue({ at: 5000, cpuNanos: 1, egressBytes: 1, ingressBytes: 1 }, { at: 4000, cpuNanos: 5e9, memBytes: GIB, egressBytes: 9 });
    close(amounts.sandboxSeconds, 0);
    close(amounts.memoryGiBSeconds, 0);
    assert.equal(cursor.at, 5000);
  });

  it('splits an interval across the minutes it spans in proportion, with whole bytes summing exactly', () => {
    // 50 s .. 130 s: 10 s in minute 0, 60 s in minute 60, 10 s in minute 120.
    const split = splitByMinute(50_000, 130_000, { sandboxSeconds: 80, cpuSeconds: 8, memoryGiBSeconds: 16, executions: 0, egressBytes: 1001, ingressBytes: 2003 });
    assert.deepEqual([...split.keys()], [0, 60, 120]);
    close(split.get(0)!.sandboxSeconds, 10);
    close(split.get(60)!.sandboxSeconds, 60);
    close(split.get(120)!.sandboxSeconds, 10);
    close(split.get(60)!.cpuSeconds, 6);
    close(split.get(120)!.memoryGiBSeconds, 2);
    const bytes = [...split.values()].map((r) => r.egressBytes);
    assert.ok(bytes.every(Number.isInteger));
    assert.equal(bytes.reduce((a, b) => a + b, 0), 1001);
    const ingress = [...split.values()].map((r) => r.ingressBytes);
    assert.ok(ingress.every(Number.isInteger));
    assert.equal(ingress.reduce((a, b) => a + b, 0), 2003);
  });

  it('an instant (an execution) lands whole in its minute', () => {
    const split = splitByMinute(125_000, 125_000, { ...zeroAmounts(), executions: 1 });
    assert.deepEqual([...split.entries()], [[120, { ...zeroAmounts(), executions: 1 }]]);
  });
});
