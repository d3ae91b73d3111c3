import { readFileSync } from 'node:fs';
import { Sandbox as CodeSandbox } from '@e2b/code-interpreter';
import { Sandbox } from 'e2b';
import { startStack, type Stack } from '@sandboxd/e2e/stack';
import { median, percentile, type BenchRow } from './stats.js';

const CI = 'code-interpreter-v1';
/** Generous SDK bounds: a loaded 2-core box makes cold creates slow, and a bench must not give up. */
const SLOW = { requestTimeoutMs: 600_000 };
/** The pool the bench's pooled daemon keeps (fits the default 1024 MiB budget: 2 × ~340 + 2 × ~45). */
export const BENCH_POOL = `${CI}=2,base=2`;

/** Goals of issue 8 item 8 this bench measures. */
export interface Goal {
  goal: string;
  limit: number;
  unit: string;
  measured: number;
}

async function metricsText(stack: Stack): Promise<string> {
  const res = await fetch(`${stack.apiUrl}/metrics`, { headers: { 'X-API-KEY': stack.apiKey } });
  return res.text();
}

const sample = (text: string, name: string, labels: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return Number(line?.split(' ').pop() ?? 'NaN');
};

/** Seconds the daemon spent in creates of `template` so far (`sandboxd_sandbox_create_duration_seconds_sum`). */
async function serverCreateSeconds(stack: Stack, template: string): Promise<number> {
  return sample(await metricsText(stack), 'sandboxd_sandbox_create_duration_seconds_sum', `template="${template}",outcome="ok"`) || 0;
}

async function waitPoolFull(stack: Stack, template: string, target: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const text = await metricsText(stack);
    if (sample(text, 'sandboxd_pool_sandboxes', `template="${template}",state="ready"`) >= target) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the ${template} pool did not fill within ${timeoutMs} ms`);
}

/** Memory the host spends on one sandbox: its cgroup's usage (gVisor sentry, gofer, agent, kernels). */
function cgroupMemoryMiB(sandboxId: string): number {
  for (const path of [`/sys/fs/cgroup/memory/sandboxd/${sandboxId}/memory.usage_in_bytes`, `/sys/fs/cgroup/sandboxd/${sandboxId}/memory.current`]) {
    try {
      return Number(readFileSync(path, 'utf8').trim()) / 1024 / 1024;
    } catch {
      // the other cgroup layout
    }
  }
  return Number.NaN;
}

interface Timings {
  client: number[];
  server: number[];
  firstResult: number[];
  /** Creates (or first cells) that failed: counted, not timed. */
  failed: number;
}

/** `runs` creates of `template`, each timed in the client and in the daemon; `beforeEach` waits for the pool. */
async function timeCreates(stack: Stack, template: string, runs: number, beforeEach: () => Promise<void>): Promise<Timings> {
  const t: Timings = { client: [], server: [], firstResult: [], failed: 0 };
  for (let i = 0; i < runs; i++) {
    await beforeEach();
    const serverBefore = await serverCreateSeconds(stack, template);
    const started = performance.now();
    try {
      await timeOne(stack, template, started, t);
    } catch (error) {
      t.failed++;
      process.stderr.write(`bench: a create of ${template} failed: ${String(error)}\n`);
      continue;
    }
    t.server.push(((await serverCreateSeconds(stack, template)) - serverBefore) * 1000);
  }
  return t;
}

/** One create (and, for a code interpreter, its first cell), timed from `started` into `t`. */
async function timeOne(stack: Stack, template: string, started: number, t: Timings): Promise<void> {
  if (template === CI) {
    const sbx = await CodeSandbox.create({ ...stack.sdk, ...SLOW });
    t.client.push(performance.now() - started);
    await sbx.runCode('1+1', { timeoutMs: 600_000, requestTimeoutMs: 600_000 });
    t.firstResult.push(performance.now() - started);
    await sbx.kill();
    return;
  }
  const sbx = await Sandbox.create(template, { ...stack.sdk, ...SLOW });
  t.client.push(performance.now() - started);
  await sbx.kill();
}

/** `n` concurrent `Sandbox.create('base')`: ms until all are ready, and how many failed. */
async function concurrentCreates(stack: Stack, n: number): Promise<{ ms: number; failed: number }> {
  const started = performance.now();
  const results = await Promise.allSettled(Array.from({ length: n }, () => Sandbox.create('base', { ...stack.sdk, ...SLOW })));
  const ms = performance.now() - started;
  await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.kill() : undefined)));
  return { ms, failed: results.filter((r) => r.status === 'rejected').length };
}

const rowPair = (rows: BenchRow[], name: string, measured: number[], cold: number[]): void => {
  rows.push({ name: `${name}, median`, value: median(measured), unit: 'ms', baselineName: 'cold, same run', baseline: median(cold) });
  rows.push({ name: `${name}, p95`, value: percentile(measured, 95), unit: 'ms', baselineName: 'cold, same run', baseline: percentile(cold, 95) });
};

/** Waits for the `template image made` log lines of both templates (kernels and none). */
async function waitImages(stack: Stack, timeoutMs = 900_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const made = stack
      .log()
      .split('\n')
      .filter((l) => l.includes('"template image made"'))
      .map((l) => (JSON.parse(l) as { kernels: boolean }).kernels);
    if (made.includes(true) && made.includes(false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the template images were not made within ${timeoutMs} ms`);
}

/** Host memory (cgroup) of one idle code-interpreter sandbox of `stack` after its first cell and `settleMs` of idling. */
async function idleCodeMemory(stack: Stack, settleMs = 5_000): Promise<number> {
  const sbx = await CodeSandbox.create({ ...stack.sdk, ...SLOW });
  try {
    await sbx.runCode('1+1', { timeoutMs: 600_000, requestTimeoutMs: 600_000 });
    await new Promise((r) => setTimeout(r, settleMs));
    return cgroupMemoryMiB(sbx.sandboxId);
  } finally {
    await sbx.kill();
  }
}

/** Where a restore's time went in the daemon, median per phase, from the "sandbox started" lines of restored creates. */
function restorePhases(stack: Stack, template: string): Record<string, number> {
  const lines = stack
    .log()
    .split('\n')
    .filter((l) => l.includes('"sandbox started"') && l.includes('"fromImage":true'))
    .map((l) => JSON.parse(l) as { template: string; ms: number; phases?: Record<string, number> })
    .filter((l) => l.template === template && l.phases !== undefined);
  const out: Record<string, number> = { 'whole service start': median(lines.map((l) => l.ms)) };
  for (const phase of new Set(lines.flatMap((l) => Object.keys(l.phases ?? {})))) out[phase] = median(lines.map((l) => l.phases?.[phase] ?? 0));
  return out;
}

/** Cold, pool-empty (template image) and pooled figures of one template and one concurrency test, per daemon. */
interface Run {
  base: Timings;
  ci: Timings;
  c10: { ms: number; failed: number };
  c20: { ms: number; failed: number };
}

/**
 * Warm pool and template snapshots against cold creates, in one run: `cold` is a daemon with the
 * pool and template snapshots off; `image` keeps template snapshots on and the pool off (every
 * create restores the template's image: the "pool empty" path); `pooled` keeps both on, with
 * {@link BENCH_POOL} (the daemon's defaults: refills restore the image too). Sequential pooled
 * creates wait for a full pool first (the steady state of a pool that keeps up); concurrent ones
 * start with a full pool.
 */
export async function benchPool(cold: Stack, runs = Number(process.env['SANDBOXD_BENCH_RUNS'] ?? 5)): Promise<{ rows: BenchRow[]; goals: Goal[] }> {
  const rows: BenchRow[] = [];
  const none = async (): Promise<void> => undefined;
  const measure = async (stack: Stack, before: (template: string) => Promise<void>): Promise<Run> => {
    const base = await timeCreates(stack, 'base', runs, () => before('base'));
    const ci = await timeCreates(stack, CI, runs, () => before(CI));
    await before('base');
    const c10 = await concurrentCreates(stack, 10);
    await before('base');
    const c20 = await concurrentCreates(stack, 20);
    return { base, ci, c10, c20 };
  };
  const c = await measure(cold, none);
  const coldMemory = await idleCodeMemory(cold);

  const imageStack = await startStack({ pool: 'off', templateSnapshots: true });
  let i: Run;
  let imageMemory: number;
  let phases: Record<string, Record<string, number>>;
  try {
    await waitImages(imageStack);
    i = await measure(imageStack, none);
    imageMemory = await idleCodeMemory(imageStack);
    phases = { base: restorePhases(imageStack, 'base'), [CI]: restorePhases(imageStack, CI) };
  } finally {
    await imageStack.stop();
  }

  const pooledStack = await startStack({ pool: BENCH_POOL, templateSnapshots: true });
  try {
    await waitPoolFull(pooledStack, CI, 2);
    await waitPoolFull(pooledStack, 'base', 2);
    const memory = pooledMemory(pooledStack);
    const p = await measure(pooledStack, (template) => waitPoolFull(pooledStack, template, 2));

    for (const [label, r] of [['pooled', p], ['pool off, template image', i]] as const) {
      rowPair(rows, `\`Sandbox.create("base")\` in the client, ${label}`, r.base.client, c.base.client);
      rowPair(rows, `create of \`base\` in the daemon (server side), ${label}`, r.base.server, c.base.server);
      rowPair(rows, `\`Sandbox.create()\` code-interpreter in the client, ${label}`, r.ci.client, c.ci.client);
      rowPair(rows, `create of code-interpreter in the daemon (server side), ${label}`, r.ci.server, c.ci.server);
      rowPair(rows, `code-interpreter create → first \`runCode("1+1")\` result, ${label}`, r.ci.firstResult, c.ci.firstResult);
      rows.push({ name: `10 concurrent \`Sandbox.create("base")\` → all ready, ${label}`, value: r.c10.ms, unit: 'ms', baselineName: 'cold, same run', baseline: c.c10.ms });
      rows.push({ name: `20 concurrent \`Sandbox.create("base")\` → all ready, ${label}`, value: r.c20.ms, unit: 'ms', baselineName: 'cold, same run', baseline: c.c20.ms });
      rows.push({ name: `failed creates of 20 concurrent (${label} / cold)`, value: r.c20.failed, unit: '', baselineName: 'cold', baseline: c.c20.failed });
      rows.push({ name: `failed creates of 10 concurrent (${label} / cold)`, value: r.c10.failed, unit: '', baselineName: 'cold', baseline: c.c10.failed });
      rows.push({ name: `failed sequential creates (${label} / cold)`, value: r.base.failed + r.ci.failed, unit: '', baselineName: 'cold', baseline: c.base.failed + c.ci.failed });
    }
    for (const [template, b] of Object.entries(claimBreakdown(pooledStack))) {
      rows.push({ name: `claim of ${template} in the service: adopt round trip to the agent, median`, value: b.adopt, unit: 'ms', baselineName: 'whole service start, median', baseline: b.total });
    }
    for (const [template, byPhase] of Object.entries(phases)) {
      const whole = byPhase['whole service start'] ?? 0;
      for (const [phase, ms] of Object.entries(byPhase)) {
        if (phase !== 'whole service start') rows.push({ name: `restore of ${template} from its image: ${phase}, median`, value: ms, unit: 'ms', baselineName: 'whole service start, median', baseline: whole });
      }
    }
    rows.push({ name: 'host memory of a pooled idle code-interpreter sandbox (cgroup, restored from the image)', value: memory.ci, unit: 'MiB', baselineName: 'pooled idle base sandbox', baseline: memory.base });
    rows.push({ name: 'host memory of an idle code-interpreter sandbox restored from the image, after a first cell', value: imageMemory, unit: 'MiB', baselineName: 'cold-booted, after a first cell', baseline: coldMemory });

    const goals: Goal[] = [
      { goal: 'create from the pool, server side (code interpreter)', limit: 30, unit: 'ms', measured: median(p.ci.server) },
      { goal: 'create from the pool, server side (base)', limit: 30, unit: 'ms', measured: median(p.base.server) },
      { goal: '`Sandbox.create` in the client, from the pool (code interpreter)', limit: 60, unit: 'ms', measured: median(p.ci.client) },
      { goal: 'create → first `runCode("1+1")`, pooled', limit: 100, unit: 'ms', measured: median(p.ci.firstResult) },
      { goal: 'create → first `runCode("1+1")`, pool empty (template image)', limit: 800, unit: 'ms', measured: median(i.ci.firstResult) },
      { goal: '10 concurrent creates → all ready (pooled daemon)', limit: 3000, unit: 'ms', measured: p.c10.ms },
      { goal: '10 concurrent creates → all ready (pool off, template image)', limit: 3000, unit: 'ms', measured: i.c10.ms },
      { goal: 'failures at 20 concurrent (pooled daemon)', limit: 0, unit: '', measured: p.c20.failed },
      { goal: 'failures at 20 concurrent (pool off, template image)', limit: 0, unit: '', measured: i.c20.failed },
      { goal: 'host memory of a pooled idle code-interpreter sandbox', limit: 200, unit: 'MiB', measured: memory.ci },
    ];
    return { rows, goals };
  } finally {
    await pooledStack.stop();
  }
}

/** Median cgroup memory of the pooled sandboxes of each template (ids from the pool's log lines). */
function pooledMemory(stack: Stack): { ci: number; base: number } {
  const ready = stack
    .log()
    .split('\n')
    .filter((l) => l.includes('"pooled sandbox ready"'))
    .map((l) => JSON.parse(l) as { sandboxId: string; template: string });
  const of = (template: string) => median(ready.filter((r) => r.template === template).map((r) => cgroupMemoryMiB(r.sandboxId)));
  return { ci: of(CI), base: of('base') };
}

/** Where a claim's time goes in the service, from its "sandbox started" log lines (ms, adoptMs). */
function claimBreakdown(stack: Stack): Record<string, { adopt: number; total: number }> {
  const claims = stack
    .log()
    .split('\n')
    .filter((l) => l.includes('"sandbox started"') && l.includes('"pooled":true'))
    .map((l) => JSON.parse(l) as { template: string; ms: number; adoptMs: number });
  const out: Record<string, { adopt: number; total: number }> = {};
  for (const template of new Set(claims.map((c) => c.template))) {
    const of = claims.filter((c) => c.template === template);
    out[template] = { adopt: median(of.map((c) => c.adoptMs)), total: median(of.map((c) => c.ms)) };
  }
  return out;
}

/** The goals as a markdown table: met, or missed by how much. */
export function goalsMarkdown(goals: Goal[]): string {
  const lines = ['| goal (issue 8) | limit | measured | verdict |', '|---|---|---|---|'];
  for (const g of goals) {
    const verdict = g.measured <= g.limit ? 'met' : `missed by ${(g.measured - g.limit).toFixed(1)} ${g.unit} (${(g.measured / Math.max(g.limit, 1)).toFixed(1)}×)`;
    lines.push(`| ${g.goal} | ≤ ${g.limit} ${g.unit} | ${g.measured.toFixed(1)} ${g.unit} | ${verdict} |`);
  }
  return lines.join('\n');
}
