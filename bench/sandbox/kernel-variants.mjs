// Runs inside a sandbox (uploaded by bench/src/kernel-variants-bench.ts): starts bare ipykernels
// in several configurations and times `1 + 1` with the agent's own ZeroMQ client.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { KernelClient } from '/opt/sandboxd/packages/agent/dist/code-interpreter/jupyter/client.js';
import { createConnectionInfo, createIpcConnectionInfo } from '/opt/sandboxd/packages/agent/dist/code-interpreter/jupyter/connection.js';

const ROUNDS = 100;
const median = (ts) => [...ts].sort((a, b) => a - b)[ts.length >> 1];

async function startVariant(transport, history) {
  const dir = `/tmp/kv-${randomUUID()}`;
  mkdirSync(dir);
  const info = transport === 'ipc' ? createIpcConnectionInfo('python3', `${dir}/k`) : await createConnectionInfo('python3');
  writeFileSync(`${dir}/conn.json`, JSON.stringify(info));
  const args = ['-m', 'ipykernel_launcher', '-f', `${dir}/conn.json`, ...(history ? [] : ['--HistoryManager.enabled=False'])];
  const child = spawn('python3', args, { stdio: 'ignore', env: { ...process.env, HOME: dir } });
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
  return { name: `${transport}/${history ? 'history' : 'no-history'}`, execute, close, times: [] };
}

// All variants run side by side, one execution each per round, so they share the same conditions.
const variants = [];
for (const transport of ['tcp', 'ipc']) for (const history of [true, false]) variants.push(await startVariant(transport, history));
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
