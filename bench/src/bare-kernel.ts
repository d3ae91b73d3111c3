import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelClient } from '@sandboxd/agent/dist/code-interpreter/jupyter/client.js';
import { createConnectionInfo } from '@sandboxd/agent/dist/code-interpreter/jupyter/connection.js';
import { denoBinary } from '@sandboxd/agent/dist/code-interpreter/jupyter/kernelspec.js';

const REPO_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

/** A Jupyter kernel on the host (no gVisor, no HTTP), driven by the agent's own ZeroMQ client. */
export interface BareKernel {
  /** Runs `code` and resolves when the reply and the kernel's idle status have both arrived. */
  execute(code: string): Promise<void>;
  close(): void;
}

/**
 * Python: the template's python3 + ipykernel (chroot into the template root filesystem inside a
 * private mount namespace, with the repo mounted at /opt/sandboxd as in a sandbox) started with
 * the same arguments the agent uses. JavaScript: the same deno binary, directly on the host.
 */
export async function startBareKernel(language: 'python' | 'javascript', rootfsPath: string): Promise<BareKernel> {
  const dir = mkdtempSync(join(tmpdir(), 'sandboxd-bench-kernel-'));
  const info = await createConnectionInfo(language === 'python' ? 'python3' : 'deno');
  writeFileSync(join(dir, 'conn.json'), JSON.stringify(info));
  let child: ChildProcess;
  if (language === 'python') {
    const script = [
      'set -e',
      `mount -t tmpfs tmpfs "${rootfsPath}/tmp"`,
      `cp "${dir}/conn.json" "${rootfsPath}/tmp/conn.json"`,
      `mount -t proc proc "${rootfsPath}/proc"`,
      `mount --rbind /dev "${rootfsPath}/dev"`,
      `mount --bind -o ro "${REPO_ROOT}" "${rootfsPath}/opt/sandboxd"`,
      `exec chroot --userspec=1000:1000 "${rootfsPath}" env HOME=/home/user PYTHONPATH=/opt/sandboxd/packages/agent/python MPLBACKEND=module://matplotlib_inline.backend_inline ` +
        'python3 -m ipykernel_launcher -f /tmp/conn.json --HistoryManager.enabled=False --InteractiveShell.colors=NoColor ' +
        '--PlainTextFormatter.max_seq_length=0 --IPKernelApp.extra_extensions=sandboxd_ipython --Application.log_level=WARN',
    ].join('\n');
    child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], { stdio: 'ignore', cwd: '/' });
  } else {
    child = spawn(denoBinary(), ['jupyter', '--kernel', '--conn', join(dir, 'conn.json')], {
      stdio: 'ignore',
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
  }
  const client = new KernelClient(info);
  await client.waitReady({ timeoutMs: 60_000 });

  return {
    execute(code: string): Promise<void> {
      const msgId = randomUUID();
      return new Promise((resolveRun, reject) => {
        let replied = false;
        let idle = false;
        const stop = client.listen(msgId, (channel, message) => {
          if (channel === 'shell' && message.header.msg_type === 'execute_reply') replied = true;
          if (channel === 'iopub' && message.header.msg_type === 'status' && message.content['execution_state'] === 'idle') idle = true;
          if (replied && idle) {
            stop();
            resolveRun();
          }
        });
        client
          .send('shell', 'execute_request', { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true }, msgId)
          .catch((error: unknown) => {
            stop();
            reject(error);
          });
      });
    },
    close() {
      client.close();
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
