import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import { createSandbox, e2eTest, sentryPid, waitFor } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

// The daemon's default idle slack and the kernel's own.
const IDLE_SLACK_NS = 50_000_000;
const KERNEL_SLACK_NS = 50_000;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

/** The distinct timer slacks of the sentry's threads (the host kernel's own view). */
function sentrySlacks(pid: number): Set<number> {
  const slacks = new Set<number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      slacks.add(Number(readFileSync(`/proc/${tid}/timerslack_ns`, 'utf8').trim()));
    } catch {
      // the thread exited
    }
  }
  return slacks;
}

const only = (pid: number, ns: number): boolean => {
  const slacks = sentrySlacks(pid);
  return slacks.size === 1 && slacks.has(ns);
};

describe('idle timers: an idle sandbox gets coarse timers, traffic and CPU use make them precise again', () => {
  test('coarse once idle; precise for the whole of an exchange in flight, before it reaches the sandbox; coarse again after', 120_000, async () => {
    const sandbox = await createSandbox(stack);
    const pid = sentryPid(stack, sandbox.sandboxId);
    await waitFor(async () => only(pid, IDLE_SLACK_NS), 30_000, 'every sentry thread coarse once the sandbox is idle', 200);
    // A command longer than the 2 s of quiet: precise from its first moment to its end.
    const running = sandbox.commands.run('sleep 4; echo done', { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([...sentrySlacks(pid)], [KERNEL_SLACK_NS], 'precise while the command runs');
    await new Promise((r) => setTimeout(r, 3_000));
    assert.deepEqual([...sentrySlacks(pid)], [KERNEL_SLACK_NS], 'still precise 3 s into the exchange');
    assert.equal((await running).stdout, 'done\n');
    await waitFor(async () => only(pid, IDLE_SLACK_NS), 10_000, 'coarse again once the exchange ended', 200);
    // A request to a coarse sandbox is answered as usual.
    const started = performance.now();
    assert.equal((await sandbox.commands.run('echo again')).stdout, 'again\n');
    assert.ok(performance.now() - started < 5_000, 'answered promptly');
    await sandbox.kill();
  });

  test('a program busy on the CPU with nobody talking to the sandbox keeps its timers precise', 120_000, async () => {
    const sandbox = await createSandbox(stack);
    const pid = sentryPid(stack, sandbox.sandboxId);
    await waitFor(async () => only(pid, IDLE_SLACK_NS), 30_000, 'coarse once idle', 200);
    // Detached: the command's exchange ends at once, the loop goes on.
    await sandbox.commands.run("setsid nohup sh -c 'echo $$ > /tmp/busy.pid; while :; do :; done' >/dev/null 2>&1 </dev/null &");
    await new Promise((r) => setTimeout(r, 3_500));
    await waitFor(async () => only(pid, KERNEL_SLACK_NS), 5_000, 'precise while the sandbox uses the CPU', 200);
    await sandbox.commands.run('kill "$(cat /tmp/busy.pid)"');
    await waitFor(async () => only(pid, IDLE_SLACK_NS), 15_000, 'coarse again once the loop is gone', 200);
    await sandbox.kill();
  });
});
