import assert from 'node:assert/strict';
import { withTimeout } from '@sandboxd/testing';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectError, createClient } from '@connectrpc/connect';
import type { Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { Filesystem, Process } from '@sandboxd/protocol';
import type { AgentConfig } from '@sandboxd/protocol';

export { withTimeout };

/** A real agent process on 127.0.0.1 with a temporary config and working directory. */
export interface AgentFixture {
  url: string;
  /** Scratch directory for the test, removed on stop. */
  dir: string;
  config: AgentConfig;
  child: ChildProcess;
  logs: string[];
  process: Client<typeof Process>;
  fs: Client<typeof Filesystem>;
  /** Headers a client must send (access token), merged into every RPC of the clients above. */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

export async function startAgent(overrides: Partial<AgentConfig> = {}): Promise<AgentFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'sandboxd-agent-test-'));
  const config: AgentConfig = {
    sandboxId: 'sbx-test',
    templateId: 'base',
    bootKernels: false,
    accessToken: null,
    envVars: { SANDBOX_GLOBAL: 'from-sandbox' },
    defaultUser: 'root',
    ...overrides,
  };
  const configPath = join(dir, 'agent.json');
  await writeFile(configPath, JSON.stringify(config));
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, SANDBOXD_AGENT_CONFIG: configPath, SANDBOXD_AGENT_HOST: '127.0.0.1', SANDBOXD_AGENT_ENVD_PORT: '0', SANDBOXD_AGENT_CODE_PORT: 'off', SANDBOXD_AGENT_SUDO_SOCKET: 'off', SANDBOXD_AGENT_MEMORY_GUARD: 'off' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          logs.push(line);
          try {
            const rec = JSON.parse(line) as { msg?: string; port?: number };
            if (rec.msg === 'listening' && typeof rec.port === 'number') resolve(rec.port);
          } catch {
            // not JSON
          }
        }
      });
      child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
      child.once('exit', (code) => reject(new Error(`agent exited with ${code}: ${logs.join('\n')}`)));
    }),
    10_000,
    'agent start',
  );
  const url = `http://127.0.0.1:${port}`;
  const headers: Record<string, string> = config.accessToken ? { 'X-Access-Token': config.accessToken } : {};
  const transport = createConnectTransport({
    httpVersion: '1.1',
    useBinaryFormat: false,
    baseUrl: url,
    interceptors: [
      (next) => (req) => {
        for (const [k, v] of Object.entries(headers)) if (!req.header.has(k)) req.header.set(k, v);
        return next(req);
      },
    ],
  });
  return {
    url,
    dir,
    config,
    child,
    logs,
    headers,
    process: createClient(Process, transport),
    fs: createClient(Filesystem, transport),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await withTimeout(exited, 10_000, 'agent shutdown').catch(() => child.kill('SIGKILL'));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** `Authorization` header selecting a user, as the SDK sends it. */
export function asUser(name: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${name}:`).toString('base64')}` };
}

/** A throw-away user (own group, also in `users`) with a home directory; `remove()` deletes both. */
export function createTempUser(): { name: string; remove(): void } {
  const name = `sbxt${process.pid % 100000}${Math.floor(Math.random() * 1000)}`;
  // useradd/userdel take a lock on /etc/passwd; test files running in parallel may collide, and
  // userdel waits for the agent's spawner of the user to end (SPAWNER_IDLE_MS after its last command).
  const retry = (cmd: string, args: string[], attempts = 20): void => {
    let stderr = '';
    for (let attempt = 0; attempt < attempts; attempt++) {
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      if (r.status === 0) return;
      stderr = r.stderr;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    throw new Error(`${cmd} failed: ${stderr}`);
  };
  retry('useradd', ['--create-home', '--shell', '/bin/bash', '--user-group', '--groups', 'users', name]);
  return {
    name,
    remove() {
      retry('userdel', ['--remove', name], 400);
    },
  };
}

/** The ConnectError a call fails with; fails the test when the call succeeds. */
export async function rpcError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail('expected the call to fail');
}
