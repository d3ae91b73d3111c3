import { Sandbox } from 'e2b';
import { startStack, type Stack } from '@sandboxd/e2e/stack';
import { sandboxCpuMs } from './idle-bench.js';
import { median, percentile, type BenchRow } from './stats.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A detached program in the sandbox: 300 sleeps of 10 ms, each one's lateness (ms) into a file. */
const LATENESS_SCRIPT = `import time
late = []
for _ in range(300):
    t = time.monotonic()
    time.sleep(0.01)
    late.append((time.monotonic() - t - 0.01) * 1000)
open('/tmp/lateness.txt', 'w').write('\\n'.join('%.3f' % x for x in late))
`;

interface IdleFigures {
  plainCpuPerMin: number;
  codeCpuPerMin: number;
  commandAfterIdleMs: number;
  latenessP50Ms: number;
  latenessP90Ms: number;
}

/** One daemon's figures: idle CPU, a command after idleness, and a detached program's timer lateness. */
async function measure(stack: Stack, settleMs: number, windowMs: number): Promise<IdleFigures> {
  const opts = { ...stack.sdk, requestTimeoutMs: 300_000 };
  const plain = await Sandbox.create('base', opts);
  const code = await Sandbox.create('code-interpreter-v1', opts);
  try {
    await sleep(settleMs);
    const cpu0 = [sandboxCpuMs(plain.sandboxId), sandboxCpuMs(code.sandboxId)];
    await sleep(windowMs);
    const cpu1 = [sandboxCpuMs(plain.sandboxId), sandboxCpuMs(code.sandboxId)];
    const perMin = (i: number): number => ((cpu1[i]! - cpu0[i]!) * 60_000) / windowMs;
    // What the first request after 4 s of idleness costs (the timers are coarse by then).
    const afterIdle: number[] = [];
    for (let i = 0; i < 7; i++) {
      await sleep(4_000);
      const started = performance.now();
      await plain.commands.run('true');
      afterIdle.push(performance.now() - started);
    }
    // A program left running while nobody talks to the sandbox (no exchange in flight).
    await plain.files.write('/tmp/lateness.py', LATENESS_SCRIPT);
    await plain.commands.run('setsid nohup python3 /tmp/lateness.py >/dev/null 2>&1 < /dev/null &');
    await sleep(20_000);
    const late = (await plain.files.read('/tmp/lateness.txt')).split('\n').map(Number);
    return {
      plainCpuPerMin: perMin(0),
      codeCpuPerMin: perMin(1),
      commandAfterIdleMs: median(afterIdle),
      latenessP50Ms: median(late),
      latenessP90Ms: percentile(late, 90),
    };
  } finally {
    await Promise.all([plain.kill(), code.kill()]);
  }
}

/**
 * Idle timers (issue 12, item 5): the same measurements on a daemon with the default idle timer
 * slack and on one with it off (`SANDBOXD_IDLE_TIMER_SLACK_MS=0`, the kernel's 50 µs), one after
 * the other in the same run.
 */
export async function benchIdleSlack(settleMs = 30_000, windowMs = 30_000): Promise<BenchRow[]> {
  const run = async (env: Record<string, string>): Promise<IdleFigures> => {
    const stack = await startStack({ pool: 'off', env });
    try {
      return await measure(stack, settleMs, windowMs);
    } finally {
      await stack.stop();
    }
  };
  const coarse = await run({});
  const precise = await run({ SANDBOXD_IDLE_TIMER_SLACK_MS: '0' });
  const base = 'slack off (50 µs), same run';
  return [
    { name: 'idle CPU of a plain sandbox, per minute', value: coarse.plainCpuPerMin, unit: 'ms', baselineName: base, baseline: precise.plainCpuPerMin },
    { name: 'idle CPU of a code-interpreter sandbox, per minute', value: coarse.codeCpuPerMin, unit: 'ms', baselineName: base, baseline: precise.codeCpuPerMin },
    { name: '`commands.run("true")` after 4 s idle, p50 of 7', value: coarse.commandAfterIdleMs, unit: 'ms', baselineName: base, baseline: precise.commandAfterIdleMs },
    { name: 'lateness of a detached program\'s 10 ms sleep, p50', value: coarse.latenessP50Ms, unit: 'ms', baselineName: base, baseline: precise.latenessP50Ms },
    { name: 'lateness of a detached program\'s 10 ms sleep, p90', value: coarse.latenessP90Ms, unit: 'ms', baselineName: base, baseline: precise.latenessP90Ms },
  ];
}
