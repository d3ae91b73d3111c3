import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStreamRegistry } from './stream-registry.js';

describe('stream registry', () => {
  it('holds per exchange, released once whether the exchange is removed, reset, or both', () => {
    const held = new Map<string, number>();
    const streams = createStreamRegistry({
      hold: (id) => {
        held.set(id, (held.get(id) ?? 0) + 1);
        return () => held.set(id, (held.get(id) ?? 0) - 1);
      },
    });
    let resets = 0;
    const removeA1 = streams.add('a', () => resets++);
    const removeA2 = streams.add('a', () => resets++);
    const removeB = streams.add('b', () => resets++);
    assert.deepEqual([held.get('a'), held.get('b')], [2, 1]);
    removeA1();
    removeA1();
    assert.equal(held.get('a'), 1, 'a second remove releases nothing more');
    assert.equal(streams.resetSandbox('a'), 1);
    assert.equal(resets, 1);
    removeA2();
    assert.equal(held.get('a'), 0, 'a reset exchange removed later releases nothing more');
    assert.equal(streams.count(), 1);
    assert.equal(streams.resetAll(), 1);
    removeB();
    assert.equal(held.get('b'), 0);
    assert.equal(streams.count(), 0);
  });

  it('works without a hold', () => {
    const streams = createStreamRegistry();
    const remove = streams.add('a', () => undefined);
    assert.equal(streams.count('a'), 1);
    remove();
    assert.equal(streams.count('a'), 0);
  });
});
