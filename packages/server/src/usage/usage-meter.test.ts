import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../store/database.js';
import { createUsageMeter } from './usage-meter.js';
import { createUsageStore } from './usage-store.js';

const GIB = 1024 ** 3;
const close = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 1e-6, `${actual} ≠ ${expected}`);
const ALL = { startSec: 0, endSec: 10_000_000 };

describe('usage meter', () => {
  it('accrues samples per key from the sandbox start and answers per key over a range', () => {
    const store = createUsageStore(openDatabase(':memory:'));
    const meter = createUsageMeter({ store });
    const a = { sandboxId: 'ia', ownerKeyId: 'key_a', startedAt: 0 };
    const b = { sandboxId: 'ib', ownerKeyId: 'key_b', startedAt: 60_000 };
    meter.observe(a, { at: 5_000, cpuNanos: 1e9, memBytes: GIB, egressBytes: 300, ingressBytes: 4000 });
    meter.observe(a, { at: 10_000, cpuNanos: 3e9, memBytes: GIB, egressBytes: 700, ingressBytes: 9000 });
    meter.ingress(a, 100, 9_800);
    meter.execution(a, 9_000);
    meter.execution(a, 9_500);
    meter.observe(b, { at: 65_000, cpuNanos: 5e8, memBytes: 2 * GIB });
    const usage = meter.query(ALL);
    assert.deepEqual(usage.map((u) => u.keyId), ['key_a', 'key_b']);
    const ua = usage[0]!;
    close(ua.sandboxSeconds, 10);
    close(ua.cpuSeconds, 3);
    close(ua.memoryGiBSeconds, 10);
    assert.equal(ua.executions, 2);
    assert.equal(ua.egressBytes, 700);
    assert.equal(ua.ingressBytes, 9100, 'downloads: the counter from zero, plus what was counted outside it');
    assert.equal(ua.sandboxes, 1);
    close(usage[1]!.memoryGiBSeconds, 10);
    // Minute ranges: key_b's usage is in minute 60 only.
    assert.deepEqual(meter.query({ startSec: 0, endSec: 60 }).map((u) => u.keyId), ['key_a']);
    assert.deepEqual(meter.query({ startSec: 60, endSec: 120 }).map((u) => u.keyId), ['key_b']);
    assert.deepEqual(meter.query({ ...ALL, keyId: 'key_b' }).map((u) => u.keyId), ['key_b']);
  });

  it('a new meter on the same database continues from the stored cursor: nothing lost, nothing twice', () => {
    const db = openDatabase(':memory:');
    const s = { sandboxId: 'is', ownerKeyId: 'key_a', startedAt: 0 };
    const first = createUsageMeter({ store: createUsageStore(db) });
    first.observe(s, { at: 5_000, cpuNanos: 1e9, memBytes: 0, egressBytes: 10 });
    first.stop();
    // Unflushed after this point: a crash loses it, the cursor in the database is at 5 s.
    first.observe(s, { at: 10_000, cpuNanos: 2e9, memBytes: 0, egressBytes: 20 });
    const second = createUsageMeter({ store: createUsageStore(db) });
    second.observe(s, { at: 20_000, cpuNanos: 4e9, memBytes: 0, egressBytes: 50 });
    const [u] = second.query(ALL);
    close(u!.sandboxSeconds, 20);
    close(u!.cpuSeconds, 4);
    assert.equal(u!.egressBytes, 50);
  });

  it('an ended sandbox gets its wall time up to the end and loses its cursor; prune drops cursors of gone sandboxes', () => {
    const db = openDatabase(':memory:');
    const store = createUsageStore(db);
    const meter = createUsageMeter({ store });
    const s = { sandboxId: 'ie', ownerKeyId: 'key_a', startedAt: 0 };
    meter.observe(s, { at: 5_000, cpuNanos: 0, memBytes: GIB });
    meter.ended(s, 8_000);
    const [u] = meter.query(ALL);
    close(u!.sandboxSeconds, 8);
    close(u!.memoryGiBSeconds, 8);
    assert.equal(store.cursor('ie'), undefined);
    const t = { sandboxId: 'it', ownerKeyId: null, startedAt: 0 };
    meter.observe(t, { at: 1_000, memBytes: 0 });
    meter.flush();
    assert.deepEqual(store.cursorIds(), ['it']);
    meter.prune([]);
    assert.deepEqual(store.cursorIds(), []);
    assert.ok(meter.query(ALL).some((row) => row.keyId === null));
  });

  it('relayed egress bytes add to the counter-based ones', () => {
    const meter = createUsageMeter({ store: createUsageStore(openDatabase(':memory:')) });
    const s = { sandboxId: 'ir', ownerKeyId: 'key_r', startedAt: 0 };
    meter.observe(s, { at: 5_000, memBytes: 0, egressBytes: 100 });
    meter.egress(s, 40, 6_000);
    meter.egress(s, 0, 6_000);
    const [u] = meter.query(ALL);
    assert.equal(u!.egressBytes, 140);
  });
});
