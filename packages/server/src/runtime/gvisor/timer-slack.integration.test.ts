import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { readdirSync, readFileSync } from 'node:fs';
import { DEFAULT_TIMER_SLACK_NS, setProcessTimerSlack } from './timer-slack.js';

/** The timer slack of each live thread of a process, nanoseconds (empty when it is gone). */
function processTimerSlack(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const tid of tids) {
    try {
      out.push(Number(readFileSync(`/proc/${tid}/timerslack_ns`, 'utf8').trim()));
    } catch {
      // the thread exited
    }
  }
  return out;
}

test('the timer slack of every thread of a live process is set and read back', async () => {
  // A Node child: several threads (libuv's pool, V8's workers) from the start.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    const pid = child.pid ?? 0;
    assert.ok(processTimerSlack(pid).every((ns) => ns === DEFAULT_TIMER_SLACK_NS), 'a new process has the default slack');
    const threads = setProcessTimerSlack(pid, 50_000_000);
    assert.ok(threads > 1, `every thread took it (${threads})`);
    assert.deepEqual(new Set(processTimerSlack(pid)), new Set([50_000_000]));
    assert.equal(setProcessTimerSlack(pid, DEFAULT_TIMER_SLACK_NS), threads);
    assert.deepEqual(new Set(processTimerSlack(pid)), new Set([DEFAULT_TIMER_SLACK_NS]));
    assert.throws(() => setProcessTimerSlack(pid, -1), RangeError);
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.once('exit', r));
  assert.equal(setProcessTimerSlack(child.pid ?? 0, 1000), 0, 'a process that is gone takes nothing');
  assert.deepEqual(processTimerSlack(child.pid ?? 0), []);
});
