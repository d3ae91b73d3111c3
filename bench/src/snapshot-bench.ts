import { Sandbox } from 'e2b';
import { startStack, type Stack } from '@sandboxd/e2e/stack';
import { median, percentile, type BenchRow } from './stats.js';

const RUNS = Number(process.env['SANDBOXD_BENCH_RUNS'] ?? 5);

/** A Python process holding 100 MB of touched memory (as pause-bench.ts). */
const STATE =
  'nohup python3 -c \'import time\nbig = bytearray(b"\\x01") * (100 * 2**20)\nopen("/tmp/ready", "w").write(str(len(big)))\ntime.sleep(10**6)\' >/dev/null 2>&1 & echo $!';

const time = async <T>(fn: () => Promise<T>): Promise<[number, T]> => {
  const started = performance.now();
  const value = await fn();
  return [performance.now() - started, value];
};

const stats = (name: string, values: number[], baselineName: string, baseline: number): BenchRow[] => [
  { name: `${name}, median`, value: median(values), unit: 'ms', baselineName, baseline },
  { name: `${name}, p95`, value: percentile(values, 95), unit: 'ms', baselineName, baseline },
];

/**
 * Snapshot, create from a snapshot and fork (per child) of a sandbox holding 100 MB of Python
 * state, beside the cold create of the same run (its own daemon, pool off).
 */
export async function benchSnapshot(): Promise<BenchRow[]> {
  const stack = await startStack({ pool: 'off' });
  const opts = { ...stack.sdk, requestTimeoutMs: 300_000 };
  const started: Sandbox[] = [];
  try {
    const creates: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const [ms, sbx] = await time(() => Sandbox.create({ ...opts }));
      creates.push(ms);
      await sbx.kill();
    }
    const cold = median(creates);
    const parent = await Sandbox.create({ ...opts, timeoutMs: 3_600_000 });
    started.push(parent);
    const pid = (await parent.commands.run(STATE)).stdout.trim();
    for (let i = 0; i < 600 && !(await parent.files.exists('/tmp/ready')); i++) await new Promise((r) => setTimeout(r, 100));
    const snapshots: number[] = [];
    const fromSnapshot: number[] = [];
    const forks: number[] = [];
    let snapshotId = '';
    for (let i = 0; i < RUNS; i++) {
      const [ms, snap] = await time(() => parent.createSnapshot({ ...opts }));
      snapshots.push(ms);
      if (snapshotId !== '') await Sandbox.deleteSnapshot(snapshotId, { ...opts });
      snapshotId = snap.snapshotId;
    }
    for (let i = 0; i < RUNS; i++) {
      const [ms, child] = await time(() => Sandbox.create(snapshotId, { ...opts }));
      fromSnapshot.push(ms);
      const alive = await child.commands.run(`kill -0 ${pid} && cat /tmp/ready`);
      if (alive.stdout.trim() !== String(100 * 2 ** 20)) throw new Error(`state missing in a sandbox from the snapshot: ${JSON.stringify(alive.stdout)}`);
      await child.kill();
    }
    await Sandbox.deleteSnapshot(snapshotId, { ...opts });
    for (let i = 0; i < RUNS; i++) {
      const [ms, results] = await time(() => parent.fork({ ...opts, count: 1 }));
      forks.push(ms);
      for (const r of results) {
        if (r instanceof Error) throw r;
        await r.kill();
      }
    }
    const baseline = 'cold `Sandbox.create` (base), median';
    return [
      ...stats('create (cold, base template), client', creates, baseline, cold),
      ...stats('snapshot (100 MB Python state; the sandbox runs on), client', snapshots, baseline, cold),
      ...stats('create from that snapshot, client', fromSnapshot, baseline, cold),
      ...stats('fork, count 1 (snapshot + one child), client', forks, baseline, cold),
      ...phaseRows(stack, 'sandbox snapshotted', () => true, 'snapshot in the daemon'),
      ...phaseRows(stack, 'sandbox started', (l) => typeof l['snapshot'] === 'string', 'create from a snapshot in the daemon'),
    ];
  } finally {
    await Promise.all(started.map((s) => s.kill().catch(() => false)));
    await stack.stop();
  }
}

/** Medians of the daemon's logged steps (`phases`) of one kind of log line, beside the median whole. */
function phaseRows(stack: Stack, message: string, take: (line: Record<string, unknown>) => boolean, label: string): BenchRow[] {
  const lines = stack
    .log()
    .split('\n')
    .filter((l) => l.includes(`"${message}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { ms: number; phases?: Record<string, number> })
    .filter((l) => take(l) && l.phases !== undefined);
  if (lines.length === 0) return [];
  const whole = median(lines.map((l) => l.ms));
  return [...new Set(lines.flatMap((l) => Object.keys(l.phases ?? {})))].map((phase) => ({
    name: `${label}: ${phase}, median of ${lines.length}`,
    value: median(lines.map((l) => l.phases?.[phase] ?? 0)),
    unit: 'ms',
    baselineName: 'the whole, median',
    baseline: whole,
  }));
}
