/**
 * The code interpreter (E2B-compatible, port 49999), built from the sandbox's config: Jupyter
 * kernels driven over ZeroMQ behind the Hono app of `app.ts`. No sockets: `main.ts` serves `app`.
 *
 * @example
 * ```ts
 * const code = await createCodeInterpreter({ config, path: '/usr/bin:/bin', lang: 'C.UTF-8' });
 * serve(code.app.fetch, ...);
 * // ... on shutdown:
 * await code.close();
 * ```
 */
import type { OomKill } from '../memory/memory-guard.js';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { AgentConfig } from '@sandboxd/protocol';
import { createCodeInterpreterApp } from './app.js';
import { Contexts } from './contexts.js';
import { resolveUser, type UserInfo } from './user.js';

export interface CodeInterpreterOptions {
  config: AgentConfig;
  /** PATH and LANG of the agent: the base of every kernel's environment. */
  path: string;
  lang: string;
  /** Mirror kernels' stdout/stderr to the agent's stderr. */
  kernelDebug?: boolean;
  /** The sandbox's memory guard, to report kernels it killed as out-of-memory deaths. */
  oomKillOf?: (pid: number) => OomKill | undefined;
  /** Where execution traces go while the sandbox's env var SANDBOXD_AGENT_TRACE is `1`. */
  traceLog?: (fields: Record<string, unknown>) => void;
}

export interface CodeInterpreter {
  app: Hono;
  /**
   * Follows an adopt: the sandbox's new env vars go into every live kernel (and every kernel
   * started later) before it resolves; a new default user restarts the kernels as that user.
   * `restored` (the kernels were restored from an image) also reseeds their random generators.
   * The access token is read from `config` on each request.
   */
  adopt(identity: { envVars: Record<string, string>; defaultUser: string }, how?: { restored: boolean }): Promise<void>;
  /** Interrupts running executions and kills every kernel. */
  close(): Promise<void>;
}

/** Environment kernels start with: a login-like base plus the sandbox's env vars. */
function kernelEnv(user: UserInfo, envVars: Record<string, string>, base: { path: string; lang: string }): Record<string, string> {
  return {
    PATH: base.path,
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: user.shell,
    LANG: base.lang,
    PYTHONUNBUFFERED: '1',
    ...envVars,
  };
}

export async function createCodeInterpreter(options: CodeInterpreterOptions): Promise<CodeInterpreter> {
  const { config } = options;
  let user = await resolveUser(config.defaultUser);
  const runtimeDir = await mkdtemp(join(tmpdir(), 'sandboxd-kernels-'));
  await chmod(runtimeDir, 0o711); // the kernel user reads its own (0600, chowned) connection file
  const contexts = new Contexts({
    user,
    env: kernelEnv(user, config.envVars, options),
    runtimeDir,
    kernelDebug: options.kernelDebug === true,
    ...(options.oomKillOf ? { oomKillOf: options.oomKillOf } : {}),
  });
  // Both default contexts exist from the start (E2B lists both), but only Python's kernel boots
  // then: at once for code-interpreter sandboxes, else on first use. JavaScript's kernel (Deno,
  // ~180 MiB of sandbox memory, measured) starts on the first JavaScript execution.
  let booted: Promise<unknown> | undefined;
  const bootDefaults = (): Promise<unknown> =>
    (booted ??= Promise.all([contexts.defaultFor('python'), contexts.defaultFor('javascript', { lazy: true })]));
  if (config.bootKernels) await bootDefaults();

  const shutdown = new AbortController();
  const app = createCodeInterpreterApp({
    contexts,
    // Read per request: an adopt rewrites the shared config's token in place.
    get accessToken() {
      return config.accessToken;
    },
    shutdown: shutdown.signal,
    bootDefaults,
    // Read per request too: an adopt may set or clear the env var.
    get traceLog() {
      return config.envVars['SANDBOXD_AGENT_TRACE'] === '1' ? options.traceLog : undefined;
    },
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdown.abort(new Error('code interpreter shutting down'));
      await contexts.closeAll();
      await rm(runtimeDir, { recursive: true, force: true });
    })();
    return closing;
  };
  const adopt = async (identity: { envVars: Record<string, string>; defaultUser: string }, how?: { restored: boolean }): Promise<void> => {
    if (identity.defaultUser !== user.name) user = await resolveUser(identity.defaultUser);
    await contexts.adopt(user, kernelEnv(user, identity.envVars, options), how?.restored === true);
  };
  return { app, adopt, close };
}
