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

  it('reads MemAvailable from /proc/meminfo', async () => {
    const bytes = await memAvailableBytes();
    assert.ok(bytes !== undefined && bytes > 0);
  });
});
