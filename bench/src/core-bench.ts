import { readFileSync } from 'node:fs';
import { Sandbox } from 'e2b';
import type { Stack } from '@sandboxd/e2e/stack';
import { hostSpawnTrueRuns, loopbackHttpTransferMs, runscRunTrueMs } from './baselines.js';
import { median, percentile, timeRuns, type BenchRow } from './stats.js';

const MB = 1024 * 1024;

/** Memory the host spends on one idle sandbox: its cgroup's usage (gVisor sentry, gofer, agent). */
function cgroupMemoryBytes(sandboxId: string): number {
  for (const path of [`/sys/fs/cgroup/memory/sandboxd/${sandboxId}/memory.usage_in_bytes`, `/sys/fs/cgroup/sandboxd/${sandboxId}/memory.current`]) {
    try {
      return Number(readFileSync(path, 'utf8').trim());
    } catch {
      // try the other cgroup layout
    }
  }
  return 0;
}

/** The sandbox-core measurements of issue 2, each with a baseline measured in the same run. */
export async function benchCore(stack: Stack, rootfsPath: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const opts = { ...stack.sdk, template: 'base' };

  const runscTrue = await runscRunTrueMs(rootfsPath, 5);
  const createTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    const sbx = await Sandbox.create('base', stack.sdk);
    createTimes.push(performance.now() - started);
    await sbx.kill();
  }
  rows.push({ name: 'cold create → ready (Sandbox.create)', value: median(createTimes), unit: 'ms', baselineName: '`runsc run` of `true`', baseline: runscTrue });

  const sbx = await Sandbox.create('base', opts);
  try {
    const hostTrue = await hostSpawnTrueRuns(40);
    const runTrue = await timeRuns(40, () => sbx.commands.run('true'), 3);
    rows.push({ name: '`commands.run("true")` round trip, p50', value: median(runTrue), unit: 'ms', baselineName: 'host `spawn("true")` p50', baseline: median(hostTrue) });
    rows.push({ name: '`commands.run("true")` round trip, p95', value: percentile(runTrue, 95), unit: 'ms', baselineName: 'host `spawn("true")` p95', baseline: percentile(hostTrue, 95) });
    // The same commands the way they ran before the login-environment cache and the spawners, in
    // a second sandbox, interleaved with the first, so both see the same load.
    const old = await Sandbox.create('base', { ...opts, envs: { SANDBOXD_AGENT_FAST_SPAWN: 'off' } });
    try {
      const fast: number[] = [];
      const slow: number[] = [];
      for (let i = 0; i < 3; i++) await Promise.all([sbx.commands.run('true'), old.commands.run('true')]);
      for (let i = 0; i < 30; i++) {
        fast.push(...(await timeRuns(1, () => sbx.commands.run('true'), 0)));
        slow.push(...(await timeRuns(1, () => old.commands.run('true'), 0)));
      }
      rows.push({ name: '`commands.run("true")` p50, interleaved A/B', value: median(fast), unit: 'ms', baselineName: 'same, `SANDBOXD_AGENT_FAST_SPAWN=off` (setpriv + `bash -l`, forked by the agent)', baseline: median(slow) });
    } finally {
      await old.kill();
    }
    const runRoot = await timeRuns(40, () => sbx.commands.run('true', { user: 'root' }), 3);
    rows.push({ name: '`commands.run("true", { user: "root" })`, p50', value: median(runRoot), unit: 'ms', baselineName: 'host `spawn("true")` p50', baseline: median(hostTrue) });

    const payload = new Uint8Array(10 * MB).fill(3).buffer;
    const loopback = await loopbackHttpTransferMs(10 * MB, 5);
    const upload = median(await timeRuns(5, () => sbx.files.write('/home/user/bench.bin', payload)));
    const download = median(await timeRuns(5, () => sbx.files.read('/home/user/bench.bin', { format: 'bytes' })));
    rows.push({ name: '10 MB upload (`files.write`)', value: upload, unit: 'ms', baselineName: 'loopback HTTP POST', baseline: loopback.upload });
    rows.push({ name: '10 MB download (`files.read`)', value: download, unit: 'ms', baselineName: 'loopback HTTP GET', baseline: loopback.download });
  } finally {
    await sbx.kill();
  }

  const idle: Sandbox[] = [];
  try {
    for (let i = 0; i < 3; i++) idle.push(await Sandbox.create('base', opts));
    await new Promise((r) => setTimeout(r, 3_000));
    const perSandbox = median(idle.map((s) => cgroupMemoryBytes(s.sandboxId))) / MB;
    rows.push({ name: 'idle host memory per sandbox (cgroup usage)', value: perSandbox, unit: 'MiB', baselineName: 'none (absolute)', baseline: 0 });
  } finally {
    await Promise.all(idle.map((s) => s.kill()));
  }
  return rows;
}
