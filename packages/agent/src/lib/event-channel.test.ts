import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventChannel } from './event-channel.js';

describe('EventChannel', () => {
  it('delivers items in order, then closed once drained', async () => {
    const ch = new EventChannel<number>();
    ch.push(1);
    ch.push(2);
    ch.close();
    ch.push(3);
    assert.deepEqual(await ch.take(), { kind: 'item', item: 1 });
    assert.deepEqual(await ch.take(), { kind: 'item', item: 2 });
    assert.deepEqual(await ch.take(), { kind: 'closed' });
  });

  it('wakes a waiting consumer and reports idleness', async () => {
    const ch = new EventChannel<string>();
    assert.deepEqual(await ch.take({ idleMs: 20 }), { kind: 'idle' });
    setTimeout(() => ch.push('x'), 10);
    assert.deepEqual(await ch.take({ idleMs: 1000 }), { kind: 'item', item: 'x' });
  });

  it('rejects with the abort reason', async () => {
    const ch = new EventChannel<string>();
    const ctl = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => ctl.abort(reason), 10);
    await assert.rejects(ch.take({ signal: ctl.signal }), (err) => err === reason);
  });
});
