import { Sandbox } from 'e2b';
import type { Stack } from '@sandboxd/e2e/stack';
import { sandboxCpuMs, sandboxMemoryBytes } from './idle-bench.js';
import { median, type BenchRow } from './stats.js';

const MiB = 1024 * 1024;

/**
 * Cold creates of `base`, interleaved: the default against `SANDBOXD_AGENT_FAST_SPAWN=off` (no
 * login-environment capture, no spawner). Per create: the wall time, the CPU charged to the
 * sandbox's cgroup until `Sandbox.create` returned and `idleMs` later, and its memory then. CPU
 * and memory hardly depend on the host's load, so the pair compares even on a busy machine.
 */
export async function benchCreateAB(stack: Stack, rounds = 4, idleMs = 4_000): Promise<BenchRow[]> {
  const variants: Record<string, string>[] = [{}, { SANDBOXD_AGENT_FAST_SPAWN: 'off' }];
  const got = variants.map(() => ({ wall: [] as number[], cpuReady: [] as number[], cpuIdle: [] as number[], mem: [] as number[], failed: 0 }));
  for (let i = 0; i < rounds; i++) {
    for (const [v, envs] of variants.entries()) {
      const into = got[v]!;
      const started = performance.now();
      let sbx: Sandbox;
      try {
        sbx = await Sandbox.create('base', { ...stack.sdk, envs, requestTimeoutMs: 300_000 });
      } catch (error) {
        into.failed++;
        process.stderr.write(`create-ab: create failed: ${String(error)}\n`);
        continue;
      }
      into.wall.push(performance.now() - started);
      into.cpuReady.push(sandboxCpuMs(sbx.sandboxId));
      await new Promise((r) => setTimeout(r, idleMs));
      into.cpuIdle.push(sandboxCpuMs(sbx.sandboxId));
      into.mem.push(sandboxMemoryBytes(sbx.sandboxId) / MiB);
      await sbx.kill();
    }
  }
  const [on, off] = got as [(typeof got)[0], (typeof got)[0]];
  const baselineName = 'same, `SANDBOXD_AGENT_FAST_SPAWN=off`';
  return [
    { name: '`Sandbox.create("base")` wall time, p50', value: median(on.wall), unit: 'ms', baselineName, baseline: median(off.wall) },
    { name: 'sandbox CPU until ready, p50', value: median(on.cpuReady), unit: 'ms', baselineName, baseline: median(off.cpuReady) },
    { name: `sandbox CPU ${idleMs / 1000} s after ready, p50`, value: median(on.cpuIdle), unit: 'ms', baselineName, baseline: median(off.cpuIdle) },
    { name: `sandbox memory ${idleMs / 1000} s after ready, p50`, value: median(on.mem), unit: 'MiB', baselineName, baseline: median(off.mem) },
    { name: 'failed creates', value: on.failed, unit: '', baselineName, baseline: off.failed },
  ];
}
