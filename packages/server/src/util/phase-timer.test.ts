import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPhaseTimer } from './phase-timer.js';

test('each lap records the whole ms since the previous one', async () => {
  const timer = startPhaseTimer();
  await new Promise((r) => setTimeout(r, 30));
  timer.lap('first');
  timer.lap('second');
  assert.deepEqual(Object.keys(timer.phases), ['first', 'second']);
  assert.ok((timer.phases['first'] ?? 0) >= 25, `first: ${timer.phases['first']}`);
  assert.ok((timer.phases['second'] ?? 99) < 10, 'the second starts where the first ended');
  assert.ok(Number.isInteger(timer.phases['first']));
});
