import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mutex } from './mutex.js';

describe('Mutex', () => {
  it('grants the lock in FIFO order, one holder at a time', async () => {
    const mutex = new Mutex();
    const order: string[] = [];
    const first = await mutex.acquire();
    const second = mutex.acquire().then((release) => {
      order.push('second');
      release();
    });
    const third = mutex.acquire().then((release) => {
      order.push('third');
      release();
    });
    order.push('first');
    first();
    await Promise.all([second, third]);
    assert.deepEqual(order, ['first', 'second', 'third']);
    assert.equal(mutex.busy, false);
  });

  it('removes an aborted waiter from the queue with the abort reason', async () => {
    const mutex = new Mutex();
    const release = await mutex.acquire();
    const controller = new AbortController();
    const waiting = mutex.acquire({ signal: controller.signal });
    const reason = new Error('gone');
    controller.abort(reason);
    await assert.rejects(waiting, (error) => error === reason);
    release();
    assert.equal(mutex.busy, false);
  });
});
