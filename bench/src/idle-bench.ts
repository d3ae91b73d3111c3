import { readdirSync, readFileSync } from 'node:fs';
import { Sandbox } from 'e2b';
import type { Stack } from '@sandboxd/e2e/stack';
import { median, timeRuns, type BenchRow } from './stats.js';

const MiB = 1024 * 1024;

/** A sandbox cgroup's file, under cgroup v1 (`memory/`, `cpuacct/`) or v2 (unified). */
function cgroupRead(controller: 'memory' | 'cpuacct', sandboxId: string): string | undefined {
  const paths =
    controller === 'memory'
      ? [`/sys/fs/cgroup/memory/sandboxd/${sandboxId}/memory.usage_in_bytes`, `/sys/fs/cgroup/sandboxd/${sandboxId}/memory.current`]
      : [`/sys/fs/cgroup/cpuacct/sandboxd/${sandboxId}/cpuacct.usage`, `/sys/fs/cgroup/sandboxd/${sandboxId}/cpu.stat`];
  for (const path of paths) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      // the other layout
    }
  }
  return undefined;
}

/** Host memory the sandbox's cgroup holds (sentry, gofer, agent, its processes), in bytes. */
export function sandboxMemoryBytes(sandboxId: string): number {
  return Number(cgroupRead('memory', sandboxId)?.trim() ?? 0);
}

/** CPU time the sandbox's cgroup has used so far, in ms. */
export function sandboxCpuMs(sandboxId: string): number {
  const text = cgroupRead('cpuacct', sandboxId);
  if (text === undefined) return 0;
  const v2 = /^usage_usec (\d+)$/m.exec(text);
  return v2 ? Number(v2[1]) / 1000 : Number(text.trim()) / 1e6;
}

/** CPU time (user + system) a host process has used so far, in ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks of 10 ms
}

/** The daemon serving `home` (its SANDBOXD_HOME), found in /proc. */
export function daemonPidOf(home: string): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').includes(`SANDBOXD_HOME=${home}`)) return Number(name);
    } catch {
      // gone, or not ours to read
    }
  }
  throw new Error(`no daemon process with SANDBOXD_HOME=${home}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Idle cost (issue 12, item 5): a plain and a code-interpreter sandbox left alone after their
 * start (`settleMs`, long enough for the warm-up and the idle spawner's retirement), then the CPU
 * their cgroups use over `windowMs`, and their memory. Baseline: the daemon's own CPU over the
 * same window.
 */
export async function benchIdle(stack: Stack, settleMs = 40_000, windowMs = 60_000): Promise<BenchRow[]> {
  const daemonPid = daemonPidOf(stack.home);
  const plain = await Sandbox.create('base', { ...stack.sdk, requestTimeoutMs: 300_000 });
  const code = await Sandbox.create('code-interpreter-v1', { ...stack.sdk, requestTimeoutMs: 300_000 });
  try {
    await sleep(settleMs);
    const cpu0 = [sandboxCpuMs(plain.sandboxId), sandboxCpuMs(code.sandboxId), processCpuMs(daemonPid)];
    await sleep(windowMs);
    const cpu1 = [sandboxCpuMs(plain.sandboxId), sandboxCpuMs(code.sandboxId), processCpuMs(daemonPid)];
    const perMin = (i: number): number => ((cpu1[i]! - cpu0[i]!) * 60_000) / windowMs;
    const daemon = perMin(2);
    return [
      { name: 'idle CPU of a plain sandbox, per minute (cgroup cpuacct)', value: perMin(0), unit: 'ms', baselineName: 'the daemon itself, same minute', baseline: daemon },
      { name: 'idle CPU of a code-interpreter sandbox, per minute', value: perMin(1), unit: 'ms', baselineName: 'the daemon itself, same minute', baseline: daemon },
      { name: `idle memory of a plain sandbox after ${settleMs / 1000} s`, value: sandboxMemoryBytes(plain.sandboxId) / MiB, unit: 'MiB', baselineName: 'none (absolute)', baseline: 0 },
      { name: `idle memory of a code-interpreter sandbox after ${settleMs / 1000} s`, value: sandboxMemoryBytes(code.sandboxId) / MiB, unit: 'MiB', baselineName: 'none (absolute)', baseline: 0 },
    ];
  } finally {
    await Promise.all([plain.kill(), code.kill()]);
  }
}

/**
 * Density (issue 12, item 5): sandboxes of `template` created one after another until their
 * cgroups together hold `budgetMiB`, then the count, the memory per sandbox (extrapolated to a
 * 24 GiB host) and `commands.run("true")` with all of them alive against the same with one.
 */
export async function benchDensity(stack: Stack, template: string, budgetMiB: number): Promise<BenchRow[]> {
  // An hour to live: filling a budget on a loaded host outlasts the default 5 minutes.
  const opts = { ...stack.sdk, requestTimeoutMs: 300_000, timeoutMs: 3_600_000 };
  const first = await Sandbox.create(template, opts);
  const alive: Sandbox[] = [first];
  try {
    const runOne = (): Promise<unknown> => first.commands.run('true');
    const alone = median(await timeRuns(20, runOne, 3));
    const used = (): number => alive.reduce((sum, s) => sum + sandboxMemoryBytes(s.sandboxId), 0) / MiB;
    // A create that fails on a starved host is counted, not fatal; three in a row end the filling.
    let failed = 0;
    let inARow = 0;
    while (used() < budgetMiB && inARow < 3) {
      try {
        alive.push(await Sandbox.create(template, opts));
        inARow = 0;
      } catch (error) {
        failed++;
        inARow++;
        process.stderr.write(`density: create failed: ${String(error)}\n`);
      }
      process.stderr.write(`density: ${alive.length} ${template} sandboxes, ${used().toFixed(0)} MiB\n`);
    }
    await sleep(10_000);
    const crowded = median(await timeRuns(20, runOne, 3));
    const perSandbox = used() / alive.length;
    return [
      { name: `${template}: sandboxes created until ${budgetMiB} MiB`, value: alive.length, unit: '', baselineName: 'none (absolute)', baseline: 0 },
      { name: `${template}: creates that failed on the way`, value: failed, unit: '', baselineName: 'none (absolute)', baseline: 0 },
      { name: `${template}: host memory per sandbox at that count`, value: perSandbox, unit: 'MiB', baselineName: 'none (absolute)', baseline: 0 },
      { name: `${template}: sandboxes in 24 GiB at that figure`, value: Math.floor((24 * 1024) / perSandbox), unit: '', baselineName: 'none (absolute)', baseline: 0 },
      { name: `${template}: \`commands.run("true")\` p50 with ${alive.length} alive`, value: crowded, unit: 'ms', baselineName: 'with one alive', baseline: alone },
    ];
  } finally {
    await Promise.all(alive.map((s) => s.kill()));
  }
}
