/**
 * The code-interpreter API (E2B-compatible, port 49999): `/execute`, `/contexts`, `/health`,
 * backed by Jupyter kernels driven over ZeroMQ.
 *
 * @example
 * ```ts
 * const server = await startCodeInterpreter({ host: '0.0.0.0', port: CODE_INTERPRETER_PORT, config });
 * // ... on shutdown:
 * await server.close();
 * ```
 */
import type { OomKill } from '../memory/memory-guard.js';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig } from '@sandboxd/protocol';
import { Contexts } from './contexts.js';
import { createHandler } from './http.js';
import { resolveUser, type UserInfo } from './user.js';

export interface CodeInterpreterOptions {
  host: string;
  port: number;
  config: AgentConfig;
  /** Aborting it closes the server like `close()`. */
  signal?: AbortSignal;
  /** The sandbox's memory guard, to report kernels it killed as out-of-memory deaths. */
  oomKillOf?: (pid: number) => OomKill | undefined;
}

export interface CodeInterpreterHandle {
  /** Interrupts running executions, kills every kernel and stops listening. */
  close(): Promise<void>;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Environment kernels start with: a login-like base plus the sandbox's env vars. */
export function kernelEnv(user: UserInfo, envVars: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? DEFAULT_PATH,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell,
    LANG: process.env.LANG ?? 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    ...envVars,
  };
}

export async function startCodeInterpreter(options: CodeInterpreterOptions): Promise<CodeInterpreterHandle> {
  const { config } = options;
  const user = await resolveUser(config.defaultUser);
  const runtimeDir = await mkdtemp(join(tmpdir(), 'sandboxd-kernels-'));
  await chmod(runtimeDir, 0o711); // the kernel user reads its own (0600, chowned) connection file
  const contexts = new Contexts({
    user,
    env: kernelEnv(user, config.envVars),
    runtimeDir,
    ...(options.oomKillOf ? { oomKillOf: options.oomKillOf } : {}),
  });
  // Both default kernels boot in parallel: at once for code-interpreter sandboxes, else on first use.
  let booted: Promise<unknown> | undefined;
  const bootDefaults = (): Promise<unknown> => (booted ??= Promise.all([contexts.defaultFor('python'), contexts.defaultFor('javascript')]));
  if (config.bootKernels) await bootDefaults();

  const shutdown = new AbortController();
  const server = createServer({ keepAliveTimeout: 640_000, requestTimeout: 0 }, createHandler({ contexts, accessToken: config.accessToken, shutdown: shutdown.signal, bootDefaults }));
  server.headersTimeout = 650_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdown.abort(new Error('code interpreter shutting down'));
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await contexts.closeAll();
      await stopped;
      await rm(runtimeDir, { recursive: true, force: true });
    })();
    return closing;
  };
  if (options.signal) {
    if (options.signal.aborted) await close();
    else options.signal.addEventListener('abort', () => void close(), { once: true });
  }
  return { close };
}
