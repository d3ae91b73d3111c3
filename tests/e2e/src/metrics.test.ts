import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, type SandboxMetrics } from 'e2b';
import { CALL_MS, RUN_ID, assertE2bError, createSandbox, e2eTest, rest, run, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const MiB = 1024 * 1024;
/** E2B's sampling period and the width of a bucket of `getMetrics` under an hour. */
const STEP_MS = 5_000;

const metricsOf = (sbx: Sandbox, opts: { start?: Date; end?: Date } = {}): Promise<SandboxMetrics[]> =>
  withTimeout(sbx.getMetrics(opts), CALL_MS, 'getMetrics');

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};

const describeSamples = (ms: SandboxMetrics[]): string =>
  ms.map((m) => `${m.timestamp.toISOString().slice(11, 19)} cpu=${m.cpuUsedPct} mem=${Math.round(m.memUsed / MiB)}M`).join('; ');

// Both CPUs busy for ~15 s while memory grows by 64 MiB every 3 s to 256 MiB.
const BURN = [
  "timeout 15 sh -c 'while :; do :; done' &",
  'python3 -c "',
  'import time',
  'chunks = []',
  'while len(chunks) < 4:',
  '    b = bytearray(64 * 1024 * 1024)',
  '    for i in range(0, len(b), 4096): b[i] = 1',
  '    chunks.append(b)',
  '    end = time.time() + 3',
  '    while time.time() < end: pass',
  'end = time.time() + 3',
  'while time.time() < end: pass',
  '"',
  'wait',
].join('\n');

describe('metrics: a 5 s time series per sandbox, as E2B keeps it', () => {
  test('getMetrics({start, end}): samples in order, CPU above idle during a burn, memory rising, ranges filter, the real disk', 420_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'metrics', run: RUN_ID }, timeoutMs: 400_000 }),
      async (sbx) => {
        const info = await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo');
        const { diskSizeMB } = (await rest(stack, 'GET', `/sandboxes/${sbx.sandboxId}`)).json as { diskSizeMB: number };
        const created = Date.now();
        // Idle first: a few samples of the sandbox doing nothing.
        await waitFor(async () => (await metricsOf(sbx)).filter((m) => m.timestamp.getTime() >= created).length >= 3, 60_000, 'three idle samples', 1000);

        const burnStart = new Date();
        await run(sbx, BURN, {}, 240_000);
        const burnEnd = new Date();
        // One more sample after the burn, so the series reaches past it.
        await waitFor(async () => (await metricsOf(sbx)).some((m) => m.timestamp.getTime() >= burnEnd.getTime()), 60_000, 'a sample after the burn', 1000);

        const all = await metricsOf(sbx);
        assert.ok(all.length >= 6, `several samples: ${describeSamples(all)}`);
        for (let i = 1; i < all.length; i++) {
          const gap = all[i]!.timestamp.getTime() - all[i - 1]!.timestamp.getTime();
          assert.ok(gap >= STEP_MS && gap % STEP_MS === 0, `in order, one per 5 s bucket: ${describeSamples(all)}`);
        }
        for (const m of all) {
          assert.equal(m.cpuCount, info.cpuCount);
          assert.equal(m.memTotal, info.memoryMB * MiB, 'memTotal is the memory limit');
          assert.ok(m.memUsed > 0 && m.memUsed <= m.memTotal, `memUsed ${m.memUsed}`);
          assert.ok(m.cpuUsedPct >= 0 && m.cpuUsedPct <= 100, `cpuUsedPct ${m.cpuUsedPct}`);
        }

        // The first bucket holds the boot; idle is what follows it until the burn.
        const idle = all.slice(1).filter((m) => m.timestamp.getTime() + STEP_MS <= burnStart.getTime());
        const burn = all.filter((m) => m.timestamp.getTime() >= burnStart.getTime() && m.timestamp.getTime() <= burnEnd.getTime());
        assert.ok(idle.length >= 1 && burn.length >= 2, `idle and burn samples: ${describeSamples(all)}`);
        const idleCpu = median(idle.map((m) => m.cpuUsedPct));
        const burnCpu = Math.max(...burn.map((m) => m.cpuUsedPct));
        assert.ok(burnCpu >= 2 * idleCpu && burnCpu - idleCpu >= 3, `CPU during the burn ${burnCpu}% vs idle ${idleCpu}%: ${describeSamples(all)}`);
        const idleMem = Math.min(...idle.map((m) => m.memUsed));
        const burnMem = burn.map((m) => m.memUsed);
        assert.ok(Math.max(...burnMem) - idleMem >= 200 * MiB, `memory grew by the 256 MiB allocated: ${describeSamples(all)}`);
        assert.ok(
          burnMem.some((later, j) => burnMem.slice(0, j).some((earlier) => later - earlier >= 60 * MiB)),
          `memory rose during the burn, sample after sample: ${describeSamples(all)}`,
        );

        // A window: only its samples (each stamped with its 5 s bucket), a subset of the whole.
        const ranged = await metricsOf(sbx, { start: burnStart, end: burnEnd });
        assert.ok(ranged.length >= 2 && ranged.length < all.length, `window ${describeSamples(ranged)} of ${describeSamples(all)}`);
        const startSec = Math.round(burnStart.getTime() / 1000) * 1000;
        const endSec = Math.round(burnEnd.getTime() / 1000) * 1000;
        const allTimes = new Set(all.map((m) => m.timestamp.getTime()));
        for (const m of ranged) {
          const t = m.timestamp.getTime();
          assert.ok(t > startSec - STEP_MS && t <= endSec, `${m.timestamp.toISOString()} outside [${burnStart.toISOString()}, ${burnEnd.toISOString()}]`);
          assert.ok(allTimes.has(t), 'the same buckets as the whole series');
        }
        assert.deepEqual(await metricsOf(sbx, { start: new Date(created - 3_600_000), end: new Date(created - 60_000) }), [], 'before the sandbox existed');
        const reversed = await rest(stack, 'GET', `/sandboxes/${sbx.sandboxId}/metrics?start=${endSec / 1000}&end=${startSec / 1000}`);
        assertE2bError(reversed, 400);
        assert.equal((reversed.json as { message: string }).message, 'Invalid time range for metrics');
        assertE2bError(await rest(stack, 'GET', `/sandboxes/${sbx.sandboxId}/metrics?start=yesterday`), 400);

        // The disk: the sandbox's own ext4 disk, as `df /` inside sees it.
        await run(sbx, 'head -c 40000000 /dev/urandom > /home/user/blob && sync');
        const latest = await waitFor(
          async () => {
            const last = (await metricsOf(sbx)).at(-1);
            return last && last.diskUsed >= 40_000_000 ? last : undefined;
          },
          30_000,
          'the 40 MB file in diskUsed',
          1000,
        );
        const [size, used] = (await run(sbx, 'df -B1 --output=size,used / | tail -1')).stdout.trim().split(/\s+/).map(Number);
        assert.ok(Math.abs(latest.diskTotal - size!) <= 4096, `diskTotal ${latest.diskTotal} vs df size ${size}`);
        assert.ok(latest.diskTotal <= diskSizeMB * MiB && latest.diskTotal > diskSizeMB * MiB * 0.95, `diskTotal ${latest.diskTotal} for a ${diskSizeMB} MiB disk`);
        assert.ok(Math.abs(latest.diskUsed - used!) <= 4 * MiB, `diskUsed ${latest.diskUsed} vs df used ${used}`);
      },
    );
  });

  test('GET /sandboxes/metrics maps several sandboxes to their latest sample; ended and unknown ids drop out', 300_000, async () => {
    const a = await createSandbox(stack, { metadata: { suite: 'metrics', run: RUN_ID }, timeoutMs: 240_000 });
    try {
      await withSandbox(
        () => createSandbox(stack, { metadata: { suite: 'metrics', run: RUN_ID }, timeoutMs: 240_000 }),
        async (b) => {
          const unknown = 'i' + '0'.repeat(20);
          const res = await rest(stack, 'GET', `/sandboxes/metrics?sandbox_ids=${a.sandboxId},${b.sandboxId},${unknown}`);
          assert.equal(res.status, 200, res.text);
          const body = res.json as { sandboxes: Record<string, Record<string, unknown>> };
          assert.deepEqual(Object.keys(body.sandboxes).sort(), [a.sandboxId, b.sandboxId].sort());
          for (const id of [a.sandboxId, b.sandboxId]) {
            const m = body.sandboxes[id]!;
            assert.deepEqual(Object.keys(m).sort(), ['cpuCount', 'cpuUsedPct', 'diskTotal', 'diskUsed', 'memCache', 'memTotal', 'memUsed', 'timestamp', 'timestampUnix']);
            assert.ok(Math.abs((m['timestampUnix'] as number) * 1000 - Date.now()) < 30_000, 'a recent sample');
            assert.ok((m['memUsed'] as number) > 0 && (m['diskTotal'] as number) > 0);
          }

          assertE2bError(await rest(stack, 'GET', '/sandboxes/metrics'), 400);
          const many = Array.from({ length: 101 }, (_, i) => `i${String(i).padStart(20, '0')}`).join(',');
          assertE2bError(await rest(stack, 'GET', `/sandboxes/metrics?sandbox_ids=${many}`), 400);

          await withTimeout(a.kill(), CALL_MS, 'kill a');
          const afterKill = await rest(stack, 'GET', `/sandboxes/metrics?sandbox_ids=${a.sandboxId},${b.sandboxId}`);
          assert.deepEqual(Object.keys((afterKill.json as { sandboxes: object }).sandboxes), [b.sandboxId]);
          // E2B answers from its metrics store: no samples is an empty series, not an error.
          assert.deepEqual(await withTimeout(Sandbox.getMetrics(a.sandboxId, { ...stack.sdk }), CALL_MS, 'getMetrics of the killed one'), []);
        },
      );
    } finally {
      await withTimeout(a.kill(), CALL_MS, 'kill a').catch(() => undefined);
    }
  });
});
