// Runs inside a sandbox (uploaded by bench/src/kernel-variants-bench.ts): starts bare ipykernels
// in several configurations and times `1 + 1` with the agent's own ZeroMQ client.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { KernelClient } from '/opt/sandboxd/packages/agent/dist/code-interpreter/jupyter/client.js';
import { createConnectionInfo, createIpcConnectionInfo } from '/opt/sandboxd/packages/agent/dist/code-interpreter/jupyter/connection.js';

const RUNS = 40;
const median = (ts) => [...ts].sort((a, b) => a - b)[ts.length >> 1];

async function measure(transport, history) {
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
  for (let i = 0; i < 5; i++) await execute('1 + 1');
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await execute('1 + 1');
    times.push(performance.now() - started);
  }
  client.close();
  child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  return median(times);
}

const out = {};
for (const transport of ['tcp', 'ipc']) for (const history of [true, false]) out[`${transport}/${history ? 'history' : 'no-history'}`] = await measure(transport, history);
process.stdout.write(JSON.stringify(out));
process.exit(0);
