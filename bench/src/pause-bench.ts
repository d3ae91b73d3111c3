import { Sandbox } from 'e2b';
import { startStack, type Stack } from '@sandboxd/e2e/stack';
import { median, percentile, type BenchRow } from './stats.js';

/** Seconds a paused sandbox stays in memory: short, so the disk runs need not wait long. */
const GRACE_SEC = 2;
const RUNS = 5;

/**
 * Python state of the goal: a Python process holding 100 MB of touched (non-zero) memory
 * (a process, not a code-interpreter kernel, so a slow kernel start does not decide the run).
 */
const STATE =
  "nohup python3 -c 'import time\nbig = bytearray(b\"\\x01\") * (100 * 2**20)\nopen(\"/tmp/ready\", \"w\").write(str(len(big)))\ntime.sleep(10**6)' >/dev/null 2>&1 & echo $!";

const time = async (fn: () => Promise<unknown>): Promise<number> => {
  const started = performance.now();
  await fn();
  return performance.now() - started;
};

/** Resolves once the daemon logged the `count`-th checkpoint to disk of the sandbox. */
async function checkpointed(stack: Stack, sandboxId: string, count: number): Promise<number> {
  for (let i = 0; i < 1200; i++) {
    const done = stack
      .log()
      .split('\n')
      .filter((l) => l.includes(sandboxId) && l.includes('paused sandbox checkpointed to disk'))
      .map((l) => (JSON.parse(l) as { ms: number }).ms);
    if (done.length >= count) return done[count - 1] ?? 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${sandboxId} was not checkpointed to disk`);
}

const stats = (name: string, values: number[], baselineName: string, baseline: number): BenchRow[] => [
  { name: `${name}, median`, value: median(values), unit: 'ms', baselineName, baseline },
  { name: `${name}, p95`, value: percentile(values, 95), unit: 'ms', baselineName, baseline },
];

/**
 * Pause and resume of a sandbox holding 100 MB of Python state, from memory and
 * from disk, beside the cold create of the same run (its own daemon, grace period 2 s).
 */
export async function benchPause(): Promise<BenchRow[]> {
  const stack = await startStack({ pool: 'off', env: { SANDBOXD_PAUSE_TO_DISK: '1', SANDBOXD_PAUSE_MEMORY_GRACE_SEC: String(GRACE_SEC), SANDBOXD_PAUSE_MIN_AVAILABLE_MB: '0' } });
  try {
    const creates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      let sbx: Sandbox | undefined;
      creates.push(await time(async () => (sbx = await Sandbox.create({ ...stack.sdk }))));
      await sbx?.kill();
    }
    const cold = median(creates);
    const sbx = await Sandbox.create({ ...stack.sdk, timeoutMs: 3_600_000 });
    try {
      const pid = (await sbx.commands.run(STATE)).stdout.trim();
      for (let i = 0; i < 600 && !(await sbx.files.exists('/tmp/ready')); i++) await new Promise((r) => setTimeout(r, 100));
      const pauses: number[] = [];
      const fromMemory: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        pauses.push(await time(() => sbx.pause()));
        fromMemory.push(await time(() => Sandbox.connect(sbx.sandboxId, { ...stack.sdk })));
      }
      const checkpoints: number[] = [];
      const fromDisk: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        await sbx.pause();
        checkpoints.push(await checkpointed(stack, sbx.sandboxId, i + 1));
        fromDisk.push(await time(() => Sandbox.connect(sbx.sandboxId, { ...stack.sdk })));
      }
      const alive = await sbx.commands.run(`kill -0 ${pid} && cat /tmp/ready`);
      if (alive.stdout.trim() !== String(100 * 2 ** 20)) throw new Error(`state lost across pause/resume: ${JSON.stringify(alive.stdout)}`);
      const baseline = 'cold `Sandbox.create` (base), median';
      return [
        ...stats('create (cold, base template), client', creates, baseline, cold),
        ...stats('pause (100 MB Python state), client', pauses, baseline, cold),
        ...stats('resume from memory (`Sandbox.connect`), client', fromMemory, baseline, cold),
        ...stats('checkpoint to disk (daemon, after the grace period)', checkpoints, baseline, cold),
        ...stats('resume from disk (`Sandbox.connect`), client', fromDisk, baseline, cold),
      ];
    } finally {
      await sbx.kill();
    }
  } finally {
    await stack.stop();
  }
}
