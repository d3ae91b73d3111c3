import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createKeyLocks } from './key-locks.js';

describe('key locks', () => {
  it('lets one holder per key in, the next when it releases, in order; other keys do not wait', async () => {
    const locks = createKeyLocks();
    const order: string[] = [];
    const first = await locks.acquire('a');
    assert.ok(locks.held('a'));
    const second = locks.acquire('a').then((release) => {
      order.push('second');
      return release;
    });
    const third = locks.acquire('a').then((release) => {
      order.push('third');
      release();
    });
    (await locks.acquire('b'))();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, []);
    first();
    (await second)();
    await third;
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(locks.held('a'), false);
  });

  it('a waiter whose signal aborts gives up without blocking those behind it', async () => {
    const locks = createKeyLocks();
    const first = await locks.acquire('k');
    const controller = new AbortController();
    const aborted = locks.acquire('k', { signal: controller.signal });
    const behind = locks.acquire('k');
    controller.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    first();
    (await behind)();
    assert.equal(locks.held('k'), false);
  });
});
