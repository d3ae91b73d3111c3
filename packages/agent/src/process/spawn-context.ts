import { access, constants } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import { LoginEnvCache } from '../users/login-env.js';
import { loginShellRunner } from './login-shell.js';
import { DEFAULT_PATH } from './spawn-plan.js';
import type { SpawnContext } from './spawn-plan.js';

/** Where `setpriv` (util-linux) is looked for. */
const SETPRIV_PATHS = ['/usr/bin/setpriv', '/bin/setpriv'];

/** The `setpriv` binary that switches users keeping supplementary groups, if the image has one. */
export async function findSetpriv(): Promise<string | undefined> {
  for (const p of SETPRIV_PATHS) {
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return undefined;
}

export interface SpawnRuntime {
  context: SpawnContext;
  /** Stops watching startup files. */
  close(): void;
}

export interface SpawnRuntimeOptions {
  /** Sandbox-global environment variables. */
  sandboxEnv: Record<string, string>;
  logger: Logger;
  /** PATH handed to children (default: the agent's own, else DEFAULT_PATH). */
  path?: string | undefined;
  /** Directory holding profile and profile.d (tests). */
  etcDir?: string | undefined;
}

/** How this agent starts processes: PATH, credentials switch, and the login environment cache. */
export async function createSpawnRuntime(options: SpawnRuntimeOptions): Promise<SpawnRuntime> {
  const base = {
    agentUid: process.getuid?.() ?? 0,
    setprivPath: await findSetpriv(),
  };
  const loginEnv = new LoginEnvCache({
    run: loginShellRunner(base),
    logger: options.logger.child({ component: 'login-env' }),
    ...(options.etcDir !== undefined ? { etcDir: options.etcDir } : {}),
  });
  const context: SpawnContext = {
    ...base,
    path: options.path || process.env['PATH'] || DEFAULT_PATH,
    sandboxEnv: options.sandboxEnv,
    loginEnv: (user, env) => loginEnv.get(user, env),
  };
  return { context, close: () => loginEnv.close() };
}
