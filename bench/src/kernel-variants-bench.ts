import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from 'e2b';
import type { Stack } from '@sandboxd/e2e/stack';
import type { BenchRow } from './stats.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'sandbox', 'kernel-variants.mjs');

/**
 * What the code interpreter's kernel settings buy inside gVisor: a bare ipykernel timed on `1 + 1`
 * with IPython history on/off and ZeroMQ over TCP or Unix sockets, each against IPython's default
 * (TCP, history on) measured in the same sandbox.
 */
export async function benchKernelVariants(stack: Stack): Promise<BenchRow[]> {
  const sbx = await Sandbox.create('base', stack.sdk);
  try {
    await sbx.files.write('/tmp/kernel-variants.mjs', readFileSync(SCRIPT, 'utf8'));
    const result = await sbx.commands.run('node /tmp/kernel-variants.mjs', { timeoutMs: 300_000 });
    const ms = JSON.parse(result.stdout) as Record<string, number>;
    const baseline = ms['tcp/history'] ?? 0;
    return Object.entries(ms)
      .filter(([name]) => name !== 'tcp/history')
      .map(([name, value]) => ({
        name: `bare ipykernel in gVisor, \`1 + 1\`, ${name}`,
        value,
        unit: 'ms',
        baselineName: 'tcp/history (IPython defaults)',
        baseline,
      }));
  } finally {
    await sbx.kill();
  }
}
