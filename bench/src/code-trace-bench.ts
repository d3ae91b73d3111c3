import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from '@e2b/code-interpreter';
import type { Stack } from '@sandboxd/e2e/stack';
import { startBareKernel } from './bare-kernel.js';
import { bareKernelsInside } from './kernel-variants-bench.js';
import { median, timeRuns } from './stats.js';

const RUNS = 30;

/** Every `current` agent log under the daemon's home (multilog's file of each sandbox). */
function agentLogs(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'root' || name === 'rootfs') continue; // the sandbox's filesystem, not its logs
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) found.push(...agentLogs(path));
    else if (name === 'current') found.push(path);
  }
  return found;
}

/** The agent's `execution trace` lines of one sandbox (sandbox env SANDBOXD_AGENT_TRACE=1). */
function traces(home: string, sandboxId: string): Record<string, number | string>[] {
  const out: Record<string, number | string>[] = [];
  for (const log of agentLogs(join(home, 'sandboxes', sandboxId))) {
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      const at = line.indexOf('{');
      if (at < 0 || !line.includes('execution trace')) continue;
      try {
        out.push(JSON.parse(line.slice(at)) as Record<string, number | string>);
      } catch {
        // not a JSON line
      }
    }
  }
  return out;
}

/**
 * Where a warm `runCode("1 + 1")` spends its time (issue 12, item 4): the client's round trip,
 * the agent's own steps from its trace, and the bare host kernel driven by the same ZeroMQ client.
 * And the floor inside gVisor: the same kernel started inside the same sandbox and driven from
 * inside it by the same client, without HTTP, proxy or agent.
 * Prints one markdown table of medians (ms) per language.
 */
export async function benchCodeTrace(stack: Stack, rootfsPath: string): Promise<string> {
  const sbx = await Sandbox.create({ ...stack.sdk, envs: { SANDBOXD_AGENT_TRACE: '1' }, timeoutMs: 1_800_000 });
  const lines: string[] = [];
  try {
    for (const language of ['python', 'javascript'] as const) {
      const bare = await startBareKernel(language, rootfsPath);
      let bareMs: number;
      try {
        bareMs = median(await timeRuns(RUNS, () => bare.execute('1 + 1'), 5));
      } finally {
        bare.close();
      }
      const before = traces(stack.home, sbx.sandboxId).length;
      const clientMs = median(await timeRuns(RUNS, () => sbx.runCode('1 + 1', { language, timeoutMs: 300_000 }), 5));
      await new Promise((r) => setTimeout(r, 500)); // the log line is written after the stream's end
      const mine = traces(stack.home, sbx.sandboxId).slice(before + 5);
      const steps = new Set<string>();
      for (const t of mine) for (const [k, v] of Object.entries(t)) if (typeof v === 'number') steps.add(k);
      lines.push(`\n${language}: client round trip p50 ${clientMs.toFixed(1)} ms, bare host kernel p50 ${bareMs.toFixed(1)} ms (${(clientMs / bareMs).toFixed(2)}×), ${mine.length} traces`);
      const floorName = language === 'python' ? 'ipc/no-history' : 'deno';
      const inside = (await bareKernelsInside(sbx, [floorName]))[floorName] ?? Number.NaN;
      lines.push(
        `${language}: the same kernel bare inside this sandbox (${floorName}, the agent's ZeroMQ client from inside, no HTTP, proxy or agent) p50 ${inside.toFixed(1)} ms, ${(inside / bareMs).toFixed(2)}× the bare host kernel; the client round trip is ${(clientMs / inside).toFixed(2)}× it`,
      );
      lines.push('', '| step (ms since the agent\'s handler started) | p50 |', '|---|---|');
      const ordered = [...steps].map((k) => ({ k, v: median(mine.map((t) => Number(t[k])).filter(Number.isFinite)) })).sort((a, b) => a.v - b.v);
      for (const { k, v } of ordered) lines.push(`| ${k} | ${v.toFixed(2)} |`);
    }
  } finally {
    await sbx.kill();
  }
  return lines.join('\n');
}
