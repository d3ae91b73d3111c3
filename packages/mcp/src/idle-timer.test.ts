import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdleTimer } from './idle-timer.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('IdleTimer', () => {
  it('fires once after the idle time with nothing in progress', async () => {
    let fired = 0;
    const idle = new IdleTimer(30, () => fired++);
    await sleep(80);
    assert.equal(fired, 1);
    await sleep(60);
    assert.equal(fired, 1, 'it does not re-arm by itself');
    idle.stop();
  });

  it('never fires while a use is in progress, and re-arms when the last one ends', async () => {
    let fired = 0;
    const idle = new IdleTimer(30, () => fired++);
    const endA = idle.begin();
    const endB = idle.begin();
    await sleep(80);
    endA();
    endA(); // idempotent: B is still in progress
    await sleep(80);
    assert.equal(fired, 0);
    endB();
    await sleep(15);
    assert.equal(fired, 0, 'the idle time counts from the end of the last use');
    await sleep(60);
    assert.equal(fired, 1);
    idle.stop();
  });

  it('stop() and an idle time of 0 disable it', async () => {
    let fired = 0;
    const stopped = new IdleTimer(20, () => fired++);
    stopped.stop();
    stopped.begin()();
    const never = new IdleTimer(0, () => fired++);
    never.begin()();
    await sleep(60);
    assert.equal(fired, 0);
  });
});
