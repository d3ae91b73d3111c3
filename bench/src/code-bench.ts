import { Sandbox } from '@e2b/code-interpreter';
import type { Stack } from '@sandboxd/e2e/stack';
import { startBareKernel } from './bare-kernel.js';
import { median, timeRuns, type BenchRow } from './stats.js';

/** The code-interpreter measurements of issue 3, each beside a same-run baseline. */
export async function benchCode(stack: Stack, rootfsPath: string): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  const firstResult: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const sbx = await Sandbox.create(stack.sdk);
    await sbx.runCode('1 + 1');
    firstResult.push(performance.now() - started);
    await sbx.kill();
  }
  const sbx = await Sandbox.create(stack.sdk);
  try {
    for (const language of ['python', 'javascript'] as const) {
      const bare = await startBareKernel(language, rootfsPath);
      try {
        const bareMs = median(await timeRuns(30, () => bare.execute('1 + 1'), 5));
        const daemonMs = median(await timeRuns(30, () => sbx.runCode('1 + 1', { language, timeoutMs: 300_000 }), 5));
        rows.push({
          name: `warm \`runCode("1 + 1")\` ${language}, through the daemon`,
          value: daemonMs,
          unit: 'ms',
          baselineName: `bare ${language === 'python' ? 'ipykernel' : 'deno kernel'} on the host, same ZeroMQ client`,
          baseline: bareMs,
        });
      } finally {
        bare.close();
      }
    }
  } finally {
    await sbx.kill();
  }
  rows.push({ name: 'sandbox create → first `runCode` result', value: median(firstResult), unit: 'ms', baselineName: 'none (absolute)', baseline: 0 });
  return rows;
}
