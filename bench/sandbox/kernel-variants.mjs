// Runs inside a sandbox (uploaded by bench/src/kernel-variants-bench.ts, with the agent's compiled
// ZeroMQ client beside it in ./jupyter and the agent image's node_modules linked as ./node_modules):
// starts bare ipykernels in several configurations and times `1 + 1` with that client.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { KernelClient } from './jupyter/client.js';
import { createConnectionInfo, createIpcConnectionInfo } from './jupyter/connection.js';

const ROUNDS = 100;
const median = (ts) => [...ts].sort((a, b) => a - b)[ts.length >> 1];

const DENO = '/opt/sandboxd/node_modules/@deno/linux-x64-glibc/deno';
const variantName = (transport, history) => (transport === 'deno' ? 'deno' : `${transport}/${history ? 'history' : 'no-history'}`);

// `deno`: the agent's Deno kernel (TCP, as the agent runs it); otherwise ipykernel over `transport`.
async function startVariant(transport, history) {
  const dir = `/tmp/kv-${randomUUID()}`;
  mkdirSync(dir);
  const deno = transport === 'deno';
  const info = transport === 'ipc' ? createIpcConnectionInfo('python3', `${dir}/k`) : await createConnectionInfo(deno ? 'deno' : 'python3');
  writeFileSync(`${dir}/conn.json`, JSON.stringify(info));
  const args = deno
    ? ['jupyter', '--kernel', '--conn', `${dir}/conn.json`]
    : ['-m', 'ipykernel_launcher', '-f', `${dir}/conn.json`, ...(history ? [] : ['--HistoryManager.enabled=False'])];
  const env = { ...process.env, HOME: dir, ...(deno ? { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1', DENO_DIR: `${dir}/deno` } : {}) };
  const child = spawn(deno ? DENO : 'python3', args, { stdio: 'ignore', env });
  const client = new KernelClient(info);
  await client.waitReady({ timeoutMs: 60_000 });
  const execute = (code) =>
    new Promise((resolve) => {
      const id = randomUUID();
      let replied = false;
      let idle = false;
      const stop = client.listen(id, (channel, m) => {
        if (channel === 'shell' && m.header.msg_type === 'execute_reply') replied = true;
        if (channel === 'iopub' && m.header.msg_type === 'status' && m.content.execution_state === 'idle') idle = true;
        if (replied && idle) {
          stop();
          resolve();
        }
      });
      client.send('shell', 'execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, id);
    });
  const close = () => {
    client.close();
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  return { name: variantName(transport, history), execute, close, times: [] };
}

// All variants run side by side, one execution each per round, so they share the same conditions.
// KV_VARIANTS (comma-separated names, e.g. `ipc/no-history,deno`) picks some; default: the four ipykernels.
const wanted = process.env.KV_VARIANTS?.split(',');
const variants = [];
for (const [transport, history] of [['tcp', true], ['tcp', false], ['ipc', true], ['ipc', false], ['deno', false]]) {
  if (wanted ? wanted.includes(variantName(transport, history)) : transport !== 'deno') variants.push(await startVariant(transport, history));
}
for (const v of variants) for (let i = 0; i < 5; i++) await v.execute('1 + 1');
for (let round = 0; round < ROUNDS; round++) {
  for (const v of variants) {
    const started = performance.now();
    await v.execute('1 + 1');
    v.times.push(performance.now() - started);
  }
}
const out = {};
for (const v of variants) {
  out[v.name] = median(v.times);
  v.close();
}
process.stdout.write(JSON.stringify(out));
process.exit(0);
