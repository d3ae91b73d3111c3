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

/** Host processes in a sandbox's cgroup (gVisor's sentry, gofer, systrap stubs), with their names. */
function cgroupProcesses(sandboxId: string): Array<{ pid: number; name: string }> {
  let text: string;
  try {
    text = readFileSync(`/sys/fs/cgroup/cpuacct/sandboxd/${sandboxId}/cgroup.procs`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const pid = Number(l);
      let name = '?';
      try {
        name = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 3).join(' ');
      } catch {
        // gone
      }
      return { pid, name };
    });
}

/** CPU per host process of the sandbox's cgroup, grouped by kind (sentry, gofer, stubs), in ms. */
function cpuByKind(sandboxId: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const { pid, name } of cgroupProcesses(sandboxId)) {
    const kind = name.includes('gofer') ? 'gofer' : name.includes('boot') ? 'sentry' : 'stub or other';
    try {
      out.set(kind, (out.get(kind) ?? 0) + processCpuMs(pid));
    } catch {
      // gone
    }
  }
  return out;
}

const SIGNAL_SCRIPT = `#!/bin/sh
# sig.sh SIGNAL PATTERN [SECONDS]: signals the processes whose command line matches PATTERN (a grep
# regex written so that it does not match itself, e.g. agent[.]bundle); with SECONDS, continues
# them after that long.
pids=""
for p in /proc/[0-9]*; do
  if tr '\\0' ' ' < "$p/cmdline" 2>/dev/null | grep -q -- "$2"; then pids="$pids \${p#/proc/}"; fi
done
kill -"$1" $pids
if [ -n "$3" ]; then sleep "$3"; kill -CONT $pids; fi
echo $pids
`;

/**
 * Sends SIGSTOP or SIGCONT to the sandbox's processes matching `pattern`, as root. With
 * `resumeAfterSec` (the agent is among them, so nothing could continue it through the agent) from
 * a background shell that continues them after that long.
 */
async function signalInside(sbx: Sandbox, pattern: string, signal: 'STOP' | 'CONT', resumeAfterSec?: number): Promise<void> {
  await sbx.files.write('/tmp/sandboxd-bench-sig.sh', SIGNAL_SCRIPT, { user: 'root' });
  const cmd = `sh /tmp/sandboxd-bench-sig.sh ${signal} '${pattern}'`;
  if (resumeAfterSec === undefined) await sbx.commands.run(cmd, { user: 'root' });
  else await sbx.commands.run(`${cmd} ${resumeAfterSec} >/dev/null 2>&1`, { user: 'root', background: true });
}

/**
 * Where an idle sandbox's CPU goes (issue 12, item 5): after `settleMs`, the cgroup CPU over
 * windows of `windowMs` with one suspect at a time stopped (SIGSTOP inside the sandbox): nothing,
 * the agent, the Jupyter kernels (code interpreter), the agent and the kernels; plus the split
 * between gVisor's host processes (sentry, gofer, systrap stubs that run the sandbox's code).
 */
export async function benchIdleSplit(stack: Stack, settleMs = 40_000, windowMs = 20_000): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const template of ['base', 'code-interpreter-v1']) {
    const sbx = await Sandbox.create(template, { ...stack.sdk, requestTimeoutMs: 300_000 });
    try {
      await sleep(settleMs);
      const measure = async (label: string, stop?: { pattern: string; agent: boolean }): Promise<number> => {
        if (stop) await signalInside(sbx, stop.pattern, 'STOP', stop.agent ? Math.ceil((windowMs + 8_000) / 1000) : undefined);
        // Let the command that stopped them and its spawner's wake-ups pass.
        await sleep(3_000);
        const c0 = sandboxCpuMs(sbx.sandboxId);
        const k0 = cpuByKind(sbx.sandboxId);
        await sleep(windowMs);
        const c1 = sandboxCpuMs(sbx.sandboxId);
        const k1 = cpuByKind(sbx.sandboxId);
        const perMin = ((c1 - c0) * 60_000) / windowMs;
        const kinds = [...k1].map(([k, v]) => `${k} ${(((v - (k0.get(k) ?? 0)) * 60_000) / windowMs).toFixed(0)}`).join(', ');
        rows.push({ name: `${template}: idle CPU per minute, ${label} (host processes: ${kinds} ms/min)`, value: perMin, unit: 'ms', baselineName: 'none (absolute)', baseline: 0 });
        if (stop?.agent) await sleep(8_000);
        else if (stop) await signalInside(sbx, stop.pattern, 'CONT');
        return perMin;
      };
      await measure('everything running');
      await measure('agent stopped', { pattern: 'agent[.]bundle', agent: true });
      if (template !== 'base') {
        await measure('ipykernel stopped', { pattern: 'ipykernel[_]launcher', agent: false });
        await measure('Deno kernel stopped', { pattern: '[d]eno', agent: false });
        await measure('agent and kernels stopped', { pattern: 'agent[.]bundle\\|ipykernel[_]launcher\\|[d]eno', agent: true });
      }
    } finally {
      await sbx.kill();
    }
  }
  return rows;
}

/**
 * Latency with a crowd (issue 12, item 5): `commands.run("true")` in a plain sandbox and
 * `runCode("1 + 1")` in a code interpreter, alone, then again with `count` idle plain sandboxes
 * alive (goal: within 1.5×); and what the crowd costs idle (the sum of its cgroups' CPU).
 */
export async function benchCrowd(stack: Stack, count = Number(process.env['SANDBOXD_BENCH_CROWD'] ?? 60)): Promise<BenchRow[]> {
  const { Sandbox: CodeSandbox } = await import('@e2b/code-interpreter');
  const opts = { ...stack.sdk, requestTimeoutMs: 300_000, timeoutMs: 3_600_000 };
  const plain = await Sandbox.create('base', opts);
  const code = await CodeSandbox.create('code-interpreter-v1', opts);
  const crowd: Sandbox[] = [];
  try {
    const runOne = (): Promise<unknown> => plain.commands.run('true');
    // A loaded host can take minutes to start the kernel: warm it with a long timeout first.
    const codeOne = (): Promise<unknown> => code.runCode('1 + 1', { timeoutMs: 300_000, requestTimeoutMs: 300_000 });
    await codeOne();
    await sleep(5_000);
    const aloneRun = median(await timeRuns(20, runOne, 3));
    const aloneCode = median(await timeRuns(20, codeOne, 3));
    let failed = 0;
    // A few at a time: fast enough to fill, not so many that creates time out on a loaded host.
    while (crowd.length < count && failed < 10) {
      const batch = await Promise.allSettled(Array.from({ length: Math.min(3, count - crowd.length) }, () => Sandbox.create('base', opts)));
      for (const r of batch) {
        if (r.status === 'fulfilled') crowd.push(r.value);
        else {
          failed++;
          process.stderr.write(`crowd: create failed: ${String(r.reason)}\n`);
        }
      }
      process.stderr.write(`crowd: ${crowd.length} idle sandboxes\n`);
    }
    // Past the warm-up of the newest and the retirement of their unused spawners.
    await sleep(40_000);
    const cpu0 = crowd.map((s) => sandboxCpuMs(s.sandboxId));
    await sleep(30_000);
    const crowdCpuPerMin = (crowd.reduce((sum, s, i) => sum + sandboxCpuMs(s.sandboxId) - (cpu0[i] ?? 0), 0) * 60_000) / 30_000;
    const crowdedRun = median(await timeRuns(20, runOne, 3));
    const crowdedCode = median(await timeRuns(20, codeOne, 3));
    return [
      { name: `\`commands.run("true")\` p50 with ${crowd.length} idle sandboxes alive`, value: crowdedRun, unit: 'ms', baselineName: 'with none', baseline: aloneRun },
      { name: `warm \`runCode("1 + 1")\` p50 with ${crowd.length} idle sandboxes alive`, value: crowdedCode, unit: 'ms', baselineName: 'with none', baseline: aloneCode },
      { name: `idle CPU of the ${crowd.length} sandboxes together, per minute`, value: crowdCpuPerMin, unit: 'ms', baselineName: 'one core for a minute', baseline: 60_000 },
      { name: 'creates that failed on the way', value: failed, unit: '', baselineName: 'none (absolute)', baseline: 0 },
    ];
  } finally {
    await Promise.all([plain.kill(), code.kill(), ...crowd.map((s) => s.kill())]);
  }
}
