import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { createPauseTiering, memAvailableBytes } from './pause-tiering.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pause tiering', () => {
  it('moves a frozen sandbox to disk after the grace period, not before; forget cancels', async () => {
    const due: string[] = [];
    const tiering = createPauseTiering({ graceMs: 80, minAvailableBytes: 0, toDisk: (id) => due.push(id), availableBytes: async () => 10 ** 12 });
    tiering.frozen('a');
    tiering.frozen('b');
    tiering.forget('b');
    await wait(30);
    assert.deepEqual(due, []);
    await wait(100);
    assert.deepEqual(due, ['a']);
    tiering.stop();
  });

  it('under memory pressure every frozen sandbox goes to disk at once', async () => {
    const due: string[] = [];
    let free = 10 ** 12;
    const tiering = createPauseTiering({ graceMs: 60_000, minAvailableBytes: 1024, toDisk: (id) => due.push(id), availableBytes: async () => free, pressureCheckMs: 20 });
    tiering.frozen('a');
    tiering.frozen('b');
    await wait(50);
    assert.deepEqual(due, []);
    free = 10;
    await wait(60);
    assert.deepEqual(due.sort(), ['a', 'b']);
    tiering.stop();
  });

  it('tries a refused sandbox again after twice the last wait, capped, and memory pressure does not hurry it', async () => {
    const dueAt: number[] = [];
    const tiering = createPauseTiering({
      graceMs: 0,
      minAvailableBytes: 1024,
      toDisk: () => dueAt.push(Date.now()),
      availableBytes: async () => 10,
      pressureCheckMs: 10,
      maxRetryMs: 1_500,
    });
    const waitForDue = async (count: number) => {
      while (dueAt.length < count) await wait(10);
    };
    const first = Date.now();
    tiering.refused('a');
    await waitForDue(1);
    assert.ok(dueAt[0]! - first >= 950, `first retry after at least 1 s, not at once under pressure (${dueAt[0]! - first} ms)`);
    const second = Date.now();
    tiering.refused('a');
    await waitForDue(2);
    assert.ok(dueAt[1]! - second >= 1_450, `second wait doubled and capped at 1.5 s (${dueAt[1]! - second} ms)`);
    const third = Date.now();
    tiering.frozen('a');
    await waitForDue(3);
    assert.ok(dueAt[2]! - third < 1_000, 'a new freeze starts over at the grace period (0 here)');
    tiering.stop();
  });

  it('reads MemAvailable from /proc/meminfo', async () => {
    const bytes = await memAvailableBytes();
    assert.ok(bytes !== undefined && bytes > 0);
  });
});
