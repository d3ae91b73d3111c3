import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitSettled } from './settle.js';

describe('waitSettled', () => {
  it('resolves when the work resolves or rejects', async () => {
    await waitSettled(Promise.resolve(1));
    await waitSettled(Promise.reject(new Error('x')));
  });

  it('stops waiting at the timeout, leaving the work running', async () => {
    let finished = false;
    const work = new Promise<void>((resolve) => setTimeout(() => ((finished = true), resolve()), 200));
    const started = Date.now();
    await waitSettled(work, { timeoutMs: 20 });
    assert.equal(finished, false);
    assert.ok(Date.now() - started < 190);
    await work;
  });

  it('stops waiting when the signal aborts, and at once when it already has', async () => {
    const never = new Promise<void>(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);
    await waitSettled(never, { signal: controller.signal });
    await waitSettled(never, { signal: AbortSignal.abort() });
  });
});
