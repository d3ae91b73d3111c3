import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PushStream } from './push-stream.js';

async function take<T>(iterator: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += 1) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe('PushStream', () => {
  it('delivers every item in order, to a waiting consumer or from the queue', async () => {
    const stream = new PushStream<number>();
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    void stream.push(1);
    void stream.push(2);
    void stream.push(3);
    stream.end();
    assert.deepEqual(await first, { value: 1, done: false });
    assert.deepEqual(await take(iterator, 10), [2, 3]);
  });

  it('asks the producer to wait at the high-water mark and lets it go once drained below', async () => {
    const stream = new PushStream<string>({ highWaterMark: 10, sizeOf: (s) => s.length });
    assert.equal(stream.push('aaaa'), undefined);
    assert.equal(stream.push('bbbb'), undefined);
    const wait = stream.push('cccc');
    assert.ok(wait instanceof Promise, 'full at 12 of 10');
    assert.equal(stream.size, 12);
    let released = false;
    void wait.then(() => (released = true));
    const iterator = stream[Symbol.asyncIterator]();
    await take(iterator, 1);
    await Promise.resolve();
    assert.equal(released, true, 'below the mark again at 8');
    assert.equal(stream.writable(), undefined);
    stream.end();
    assert.deepEqual(await take(iterator, 10), ['bbbb', 'cccc']);
  });

  it('keeps memory bounded with a slow consumer when the producer honours the wait', async () => {
    const stream = new PushStream<string>({ highWaterMark: 1000, sizeOf: (s) => s.length });
    let maxQueued = 0;
    const produced = (async () => {
      for (let i = 0; i < 2000; i += 1) {
        await stream.push(`${i}`.padStart(100, '0'));
        maxQueued = Math.max(maxQueued, stream.size);
      }
      stream.end();
    })();
    const got: string[] = [];
    for await (const item of stream) {
      got.push(item);
      if (got.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await produced;
    assert.equal(got.length, 2000);
    assert.ok(got.every((item, i) => Number(item) === i), 'in order, none lost');
    assert.ok(maxQueued <= 1100, `queued at most the mark plus one item (${maxQueued})`);
  });

  it('drops the queue and releases a waiting producer when the consumer leaves', async () => {
    const stream = new PushStream<string>({ highWaterMark: 2, sizeOf: () => 1 });
    void stream.push('a');
    const wait = stream.push('b');
    assert.ok(wait instanceof Promise);
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.return?.();
    await wait; // settles instead of hanging
    assert.equal(stream.size, 0);
    assert.equal(stream.abandoned, true);
    assert.equal(stream.push('c'), undefined, 'later pushes are no-ops');
    assert.equal(stream.size, 0);
    assert.deepEqual(await iterator.next(), { value: undefined, done: true });
  });

  it('releases a waiting producer when the stream ends, and still delivers the queue', async () => {
    const stream = new PushStream<number>({ highWaterMark: 1 });
    const wait = stream.push(1);
    assert.ok(wait instanceof Promise);
    stream.end();
    await wait;
    assert.deepEqual(await take(stream[Symbol.asyncIterator](), 5), [1]);
  });
});
