// Benchmarks of sandboxd against baselines measured in the same run. Not a test: it prints a
// markdown table for docs/benchmarks.md. Run with: node bench/dist/main.js [core|code|code-trace|kernel|files|files-many|idle|idle-slack|density|create-ab|cmd|idle-split|crowd|pool|pause|snapshot]
// (as root, after ./sandboxd start has built everything).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack } from '@sandboxd/e2e/stack';
import { benchCmd } from './cmd-bench.js';
import { benchCode } from './code-bench.js';
import { benchCodeTrace } from './code-trace-bench.js';
import { benchCore } from './core-bench.js';
import { benchCreateAB } from './create-ab-bench.js';
import { benchFiles, benchFilesConcurrent } from './files-bench.js';
import { benchCrowd, benchDensity, benchIdle, benchIdleSplit } from './idle-bench.js';
import { benchIdleSlack } from './idle-slack-bench.js';
import { benchKernelVariants } from './kernel-variants-bench.js';
import { benchPause } from './pause-bench.js';
import { benchPool, goalsMarkdown } from './pool-bench.js';
import { benchSnapshot } from './snapshot-bench.js';
import { toMarkdown } from './stats.js';

/**
 * The root filesystem of the template the daemon runs for "base": of the built templates with that
 * alias, the newest (older builds of earlier template specs stay on disk under the same alias, and
 * directory order once made the `runsc run` baseline time an old template).
 */
function defaultTemplateRootfs(alias = 'base'): string {
  const dir = process.env['SANDBOXD_TEMPLATES_DIR'] ?? '/var/lib/sandboxd/templates';
  let newest: { rootfsPath: string; createdAt: string } | undefined;
  for (const name of readdirSync(dir)) {
    try {
      const info = JSON.parse(readFileSync(join(dir, name, 'template.json'), 'utf8')) as { aliases: string[]; rootfsPath: string; createdAt?: string };
      const createdAt = info.createdAt ?? '';
      if (info.aliases.includes(alias) && (newest === undefined || createdAt > newest.createdAt)) newest = { rootfsPath: info.rootfsPath, createdAt };
    } catch {
      // not a finished template
    }
  }
  if (newest === undefined) throw new Error(`no built "${alias}" template under ${dir}: run ./sandboxd template build ${alias}`);
  return newest.rootfsPath;
}

const only = process.argv[2];
if (only === 'pause') {
  // Its own daemon (a short grace period before the disk tier).
  process.stdout.write(`${toMarkdown(await benchPause())}\n`);
} else if (only === 'idle-slack') {
  // Two daemons of its own, one after the other (default slack, slack off).
  process.stdout.write(`${toMarkdown(await benchIdleSlack())}\n`);
} else if (only === 'snapshot') {
  process.stdout.write(`${toMarkdown(await benchSnapshot())}\n`);
} else {
  // The pool off whatever SANDBOXD_E2E_POOL says: every figure here is of the cold path unless it says pooled.
  const stack = await startStack({ pool: 'off' });
  try {
    const rootfs = defaultTemplateRootfs();
    const rows = [
      ...(only === undefined || only === 'core' ? await benchCore(stack, rootfs) : []),
      // The bare kernel baseline runs the code-interpreter template's Python (the lean base has no ipykernel).
      ...(only === undefined || only === 'code' ? await benchCode(stack, defaultTemplateRootfs('code-interpreter-v1')) : []),
      ...(only === undefined || only === 'kernel' ? await benchKernelVariants(stack) : []),
      ...(only === undefined || only === 'files' ? await benchFiles(stack, Number(process.env['SANDBOXD_BENCH_FILE_MB'] ?? 100), Number(process.env['SANDBOXD_BENCH_FILE_RUNS'] ?? 3)) : []),
      // Many clients at once (SANDBOXD_BENCH_FILE_CLIENTS, default 4), each its own file.
      ...(only === 'files-many'
        ? await benchFilesConcurrent(stack, Number(process.env['SANDBOXD_BENCH_FILE_MB'] ?? 100), Number(process.env['SANDBOXD_BENCH_FILE_CLIENTS'] ?? 4))
        : []),
      ...(only === undefined || only === 'idle' ? await benchIdle(stack) : []),
      ...(only === 'create-ab' ? await benchCreateAB(stack) : []),
      ...(only === 'cmd' ? await benchCmd(stack) : []),
      ...(only === 'idle-split' ? await benchIdleSplit(stack) : []),
      ...(only === 'crowd' ? await benchCrowd(stack) : []),
      // Density: SANDBOXD_BENCH_DENSITY_MB of sandbox memory (default small enough for minutes here).
      ...(only === 'density' ? await benchDensity(stack, process.env['SANDBOXD_BENCH_DENSITY_TEMPLATE'] ?? 'base', Number(process.env['SANDBOXD_BENCH_DENSITY_MB'] ?? 1024)) : []),
    ];
    // Where a warm runCode's time goes, from the agent's trace (not part of the full run).
    if (only === 'code-trace') process.stdout.write(`${await benchCodeTrace(stack, defaultTemplateRootfs('code-interpreter-v1'))}\n`);
    const pool = only === undefined || only === 'pool' ? await benchPool(stack) : undefined;
    rows.push(...(pool?.rows ?? []));
    process.stdout.write(`${toMarkdown(rows)}\n`);
    if (pool !== undefined) process.stdout.write(`\n${goalsMarkdown(pool.goals)}\n`);
  } finally {
    await stack.stop();
  }
  if (only === undefined) process.stdout.write(`${toMarkdown(await benchPause())}\n`);
}
