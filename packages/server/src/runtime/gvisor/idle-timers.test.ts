import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createIdleTimers } from './idle-timers.js';
import { DEFAULT_TIMER_SLACK_NS } from './timer-slack.js';

const IDLE_NS = 50_000_000;

/** An idle-timer set over a fake clock and fake cgroups; `writes` lists every slack written. */
function harness() {
  let clock = 0;
  const cpu = new Map<string, number>();
  const writes: Array<{ pid: number; ns: number }> = [];
  const timers = createIdleTimers({
    idleSlackNs: IDLE_NS,
    readCpuNanos: (id) => cpu.get(id),
    setSlack: (pid, ns) => writes.push({ pid, ns }),
    now: () => clock,
  });
  const advance = (ms: number, cpuNanosBySandbox: Record<string, number> = {}): void => {
    clock += ms;
    for (const [id, used] of Object.entries(cpuNanosBySandbox)) cpu.set(id, (cpu.get(id) ?? 0) + used);
    timers.tick();
  };
  return { timers, writes, cpu, advance };
}

describe('idle timers', () => {
  it('tracks with precise timers and coarsens after 2 s without traffic or CPU use', () => {
    const { timers, writes, cpu, advance } = harness();
    cpu.set('a', 0);
    timers.track('a', 101);
    assert.deepEqual(writes, [{ pid: 101, ns: DEFAULT_TIMER_SLACK_NS }], 'an adopted sandbox may have been left coarse');
    advance(1000, { a: 1_000_000 });
    assert.equal(timers.isCoarse('a'), false);
    advance(1000, { a: 1_000_000 });
    assert.equal(timers.isCoarse('a'), true);
    assert.deepEqual(writes.at(-1), { pid: 101, ns: IDLE_NS });
    advance(1000);
    assert.equal(writes.length, 2, 'no writes while nothing changes');
    timers.stop();
  });

  it('stays precise while busy (≥ 0.2 cores) and turns precise again when CPU use returns', () => {
    const { timers, writes, advance } = harness();
    timers.track('a', 7);
    for (let i = 0; i < 5; i++) advance(1000, { a: 500_000_000 });
    assert.equal(timers.isCoarse('a'), false, 'half a core is busy');
    advance(1000);
    advance(1000);
    assert.equal(timers.isCoarse('a'), true);
    advance(1000, { a: 300_000_000 });
    assert.equal(timers.isCoarse('a'), false);
    assert.deepEqual(writes.at(-1), { pid: 7, ns: DEFAULT_TIMER_SLACK_NS });
    timers.stop();
  });

  it('a hold makes timers precise synchronously and keeps them so until released, then 2 s more', () => {
    const { timers, writes, advance } = harness();
    timers.track('a', 9);
    advance(3000);
    assert.equal(timers.isCoarse('a'), true);
    const release = timers.hold('a');
    assert.equal(timers.isCoarse('a'), false, 'precise before the held exchange goes on');
    assert.deepEqual(writes.at(-1), { pid: 9, ns: DEFAULT_TIMER_SLACK_NS });
    for (let i = 0; i < 10; i++) advance(1000);
    assert.equal(timers.isCoarse('a'), false, 'a long exchange (a running command) stays precise');
    release();
    release();
    advance(1000);
    assert.equal(timers.isCoarse('a'), false);
    advance(1000);
    assert.equal(timers.isCoarse('a'), true, 'a double release counted once');
    timers.stop();
  });

  it('holds survive tracking again (a restore) and an unknown sandbox holds nothing', () => {
    const { timers, writes, advance } = harness();
    timers.track('a', 1);
    const release = timers.hold('a');
    timers.track('a', 2);
    advance(5000);
    assert.equal(timers.isCoarse('a'), false, 'the hold from before the restore still counts');
    release();
    advance(2000);
    assert.equal(timers.isCoarse('a'), true);
    assert.deepEqual(writes.at(-1), { pid: 2, ns: IDLE_NS }, 'the new process gets the slack');
    timers.hold('nobody')();
    timers.untrack('a');
    advance(1000);
    assert.equal(timers.isCoarse('a'), false);
    timers.stop();
  });

  it('stop makes every coarse sandbox precise again (they outlive the daemon)', () => {
    const { timers, writes, advance } = harness();
    timers.track('a', 1);
    timers.track('b', 2);
    advance(3000);
    const before = writes.length;
    timers.stop();
    assert.deepEqual(writes.slice(before).sort((x, y) => x.pid - y.pid), [
      { pid: 1, ns: DEFAULT_TIMER_SLACK_NS },
      { pid: 2, ns: DEFAULT_TIMER_SLACK_NS },
    ]);
  });
});
