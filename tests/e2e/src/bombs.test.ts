import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { createSandbox, e2eTest, rawFetch } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

/** Samples GET /sandboxes latency until stopped; returns the sorted samples in ms. */
function sampleApiLatency(): { stop(): Promise<number[]> } {
  const samples: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      await rawFetch(`${stack.apiUrl}/sandboxes`, { headers: { 'X-API-KEY': stack.apiKey } });
      samples.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples.sort((a, b) => a - b);
    },
  };
}

const p99 = (sorted: number[]): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;

describe('resource bombs stay inside their sandbox', () => {
  test('more processes than the limit: fork fails with EAGAIN inside, the sandbox and the agent live on', 180_000, async () => {
    const sandbox = await createSandbox(stack);
    const limit = Number((await sandbox.commands.run('cat /sys/fs/cgroup/pids/user/pids.max', { user: 'root' })).stdout.trim());
    assert.ok(limit > 0 && limit <= 4096, `users' task limit ${limit}`);
    // Start sleepers until fork refuses; python reports the errno of the first refusal.
    const out = await sandbox.commands.run(
      `python3 -c "
import errno, os, subprocess
procs = []
try:
    for i in range(${limit * 2}):
        procs.append(subprocess.Popen(['sleep', '300']))
    print('no refusal', len(procs))
except OSError as e:
    print('refused', errno.errorcode.get(e.errno), len(procs))
# hold the cap while the agent is asked to do work
import time, sys
sys.stdout.flush()
time.sleep(8)
for p in procs: p.kill()
"`,
      { timeoutMs: 150_000, onStdout: () => undefined },
    );
    assert.match(out.stdout, /refused EAGAIN \d+/);
    const started = Number(/refused EAGAIN (\d+)/.exec(out.stdout)?.[1]);
    // gVisor's pids controller lets tasks past its cap, the more the busier the host: one at a
    // time (Popen), refusals came at 1028–1073 under a cap of 1024 on a quiet host, at 1028–1104
    // with both cores busy, and once after more than 1224 during a full e2e run. It still refuses
    // well short of the host's pids limit of the sandbox (8 × the cap + 512).
    assert.ok(started > limit / 2 && started <= limit * 1.5, `${started} processes started under a limit of ${limit}`);
    assert.equal((await sandbox.commands.run('echo alive')).stdout.trim(), 'alive');
    await sandbox.kill();
  });

  test('the agent keeps room to work while users are at their task limit', 180_000, async () => {
    const sandbox = await createSandbox(stack);
    const limit = Number((await sandbox.commands.run('cat /sys/fs/cgroup/pids/user/pids.max', { user: 'root' })).stdout.trim());
    const holder = await sandbox.commands.run(
      `python3 -c "
import subprocess, time
procs = []
try:
    while True: procs.append(subprocess.Popen(['sleep', '300']))
except OSError:
    print('at cap', len(procs), flush=True)
time.sleep(120)
"`,
      { background: true },
    );
    const deadline = Date.now() + 120_000;
    while (!holder.stdout.includes('at cap') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    assert.match(holder.stdout, /at cap/);
    // The agent, outside the users' group, still starts a process, which can clean up.
    const cleanup = await sandbox.commands.run('pkill -u user sleep; echo cleaned', { user: 'root', timeoutMs: 60_000 });
    assert.match(cleanup.stdout, /cleaned/);
    assert.ok(limit > 0);
    await holder.kill();
    assert.equal((await sandbox.commands.run('echo alive')).stdout.trim(), 'alive');
    await sandbox.kill();
  });

  test('a memory bomb kills the offender, not the sandbox', 180_000, async () => {
    const sandbox = await createSandbox(stack);
    const bomb = await sandbox.commands
      .run(`python3 -c "
chunks = []
while True: chunks.append(bytearray(64 * 1024 * 1024))
"`, { timeoutMs: 150_000 })
      .then(
        () => 'survived',
        (err: unknown) => (err as { exitCode?: number }).exitCode,
      );
    assert.notEqual(bomb, 'survived');
    assert.equal((await sandbox.commands.run('echo alive')).stdout.trim(), 'alive');
    await sandbox.kill();
  });

  test('a CPU spin on every core of one sandbox starves neither the API nor another sandbox', 180_000, async () => {
    const [spinner, bystander] = await Promise.all([createSandbox(stack), createSandbox(stack)]);
    // Warm: the first command of a fresh sandbox pays for starting its shell, not for the spin.
    await bystander.commands.run('echo warm');
    const baseline = sampleApiLatency();
    await new Promise((r) => setTimeout(r, 3_000));
    const baselineSamples = await baseline.stop();
    const spin = await spinner.commands.run('for i in 1 2 3 4; do (while :; do :; done) & done; wait', { background: true });
    await new Promise((r) => setTimeout(r, 2_000));
    const during = sampleApiLatency();
    const bystanderMs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      assert.equal((await bystander.commands.run('echo $((1+1))')).stdout.trim(), '2');
      bystanderMs.push(performance.now() - started);
    }
    await new Promise((r) => setTimeout(r, 3_000));
    const duringSamples = await during.stop();
    await spin.kill();
    const report = `API p99 ${p99(baselineSamples).toFixed(1)} ms idle, ${p99(duringSamples).toFixed(1)} ms during the spin; bystander calls ${bystanderMs.map((m) => m.toFixed(0)).join(', ')} ms`;
    console.log(`[bombs] ${report}`);
    // The bound: the API's p99 stays under 100 ms during any bomb.
    assert.ok(p99(duringSamples) < 100, report);
    // The issue saw another sandbox's `1+1` take 1.1 s during a spin.
    assert.ok(Math.max(...bystanderMs) < 1_000, report);
    await Promise.all([spinner.kill(), bystander.kill()]);
  });
  test('a churning fork bomb (:(){ :|:& };:) leaves the sandbox alive, the API fast, other sandboxes answering, and kill prompt', 240_000, async () => {
    const [bomber, bystander] = await Promise.all([createSandbox(stack), createSandbox(stack)]);
    await bystander.commands.run('echo warm');
    // The classic bomb: processes fork and die all the time, so the cap is hit over and over.
    await bomber.commands.run(`bash -c ':(){ :|:& };:' >/dev/null 2>&1 &`, { timeoutMs: 5_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10_000));
    const during = sampleApiLatency();
    const bystanderMs: number[] = [];
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      const started = performance.now();
      assert.equal((await bystander.commands.run('echo $((1+1))')).stdout.trim(), '2');
      bystanderMs.push(performance.now() - started);
    }
    const duringSamples = await during.stop();
    const info = await fetch(`${stack.apiUrl}/sandboxes/${bomber.sandboxId}`, { headers: { 'X-API-KEY': stack.apiKey } });
    assert.equal(info.status, 200, 'the bombing sandbox is still listed');
    assert.equal(((await info.json()) as { state?: string }).state, 'running');
    const killStarted = performance.now();
    await bomber.kill();
    const killMs = performance.now() - killStarted;
    const sorted = [...bystanderMs].sort((a, b) => a - b);
    const report = `API p99 ${p99(duringSamples).toFixed(1)} ms; bystander p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} ms, max ${sorted.at(-1)?.toFixed(0)} ms over ${sorted.length} calls; kill ${killMs.toFixed(0)} ms`;
    console.log(`[bombs] churn: ${report}`);
    assert.ok(p99(duringSamples) < 100, report);
    assert.ok(sorted.length >= 5, report);
    assert.ok(killMs < 5_000, report);
    const list = await fetch(`${stack.apiUrl}/v2/sandboxes`, { headers: { 'X-API-KEY': stack.apiKey } });
    const ids = ((await list.json()) as Array<{ sandboxID: string }>).map((s) => s.sandboxID);
    assert.ok(!ids.includes(bomber.sandboxId), 'the killed bomber left the list');
    await bystander.kill();
  });
});
