import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AGENT_TASK_RESERVE, applyPidsLimit, placeUserTask } from './pids-limit.js';

// The real cgroupfs is gVisor's, inside a sandbox (tests/e2e/src/bombs.test.ts); here a plain
// directory stands in for its files, to check what is written where.
test('caps users at the limit, the sandbox at the limit plus the agent reserve, and moves the agent', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pids-'));
  try {
    await applyPidsLimit(1024, dir);
    assert.equal(await readFile(join(dir, 'pids.max'), 'utf8'), `${1024 + AGENT_TASK_RESERVE}\n`);
    assert.equal(await readFile(join(dir, 'user', 'pids.max'), 'utf8'), '1024\n');
    assert.equal(await readFile(join(dir, 'agent', 'cgroup.procs'), 'utf8'), `${process.pid}\n`);
    assert.equal(await readFile(join(dir, 'agent', 'pids.max'), 'utf8'), `${1024 + AGENT_TASK_RESERVE}\n`);
    placeUserTask(4242);
    assert.equal(await readFile(join(dir, 'user', 'cgroup.procs'), 'utf8'), '4242\n');
    placeUserTask(undefined);
    assert.equal(await readFile(join(dir, 'user', 'cgroup.procs'), 'utf8'), '4242\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('refuses a limit that is not a positive integer', async () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) await assert.rejects(applyPidsLimit(bad, '/nonexistent'), RangeError);
});
