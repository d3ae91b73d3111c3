import { access, constants } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import type { UserInfo } from '../users/user-db.js';
import { LoginEnvCache } from '../users/login-env.js';
import { loginShellRunner, spawnerLoginShellRunner } from './login-shell.js';
import type { DirectSpawn } from './pipe-driver.js';
import type { DirectPtySpawn } from './pty-driver.js';
import { SpawnerPool } from './spawner.js';
import { childEnv } from './spawn-plan.js';
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
  /** Piped commands through the users' spawners, when this image can run them. */
  direct: DirectSpawn | undefined;
  /** Commands on a terminal through the same spawners. */
  directPty: DirectPtySpawn | undefined;
  /**
   * Prepares what the first command of `user` would otherwise wait for (its login environment,
   * its spawner), in the background.
   */
  warm(user: UserInfo): void;
  /** Stops watching startup files and ends the spawners. */
  close(): void;
}

export interface SpawnRuntimeOptions {
  /** Sandbox-global environment variables. */
  sandboxEnv: Record<string, string>;
  logger: Logger;
  /** PATH handed to children: the agent's own (main.ts reads it; SANDBOX_DEFAULT_PATH when it has none). */
  path: string;
  /** Directory holding profile, profile.d and group (tests). */
  etcDir?: string | undefined;
  /** Where the spawners connect to (default /run/sandboxd-spawn); `false`: every command is forked by the agent. */
  spawnerSocketDir?: string | false | undefined;
  /** `false`: no login environment cache, no spawners (every command as `bash -l`, forked by the agent: A/B benchmarks). */
  fastPath?: boolean | undefined;
}

/** How this agent starts processes: PATH, credentials switch, and the login environment cache. */
export async function createSpawnRuntime(options: SpawnRuntimeOptions): Promise<SpawnRuntime> {
  const base = {
    agentUid: process.getuid?.() ?? 0,
    setprivPath: await findSetpriv(),
  };
  const pool =
    options.spawnerSocketDir === false || options.fastPath === false
      ? undefined
      : await SpawnerPool.create({
          ctx: base,
          logger: options.logger.child({ component: 'spawner' }),
          ...(options.spawnerSocketDir !== undefined ? { socketDir: options.spawnerSocketDir } : {}),
          ...(options.etcDir !== undefined ? { etcDir: options.etcDir } : {}),
        });
  const forked = loginShellRunner(base);
  const loginEnv = new LoginEnvCache({
    run: pool ? spawnerLoginShellRunner(pool, forked) : forked,
    logger: options.logger.child({ component: 'login-env' }),
    ...(options.etcDir !== undefined ? { etcDir: options.etcDir } : {}),
  });
  const context: SpawnContext = {
    ...base,
    path: options.path,
    sandboxEnv: options.sandboxEnv,
    // Never waited for: until its capture is there, a command runs as the real login shell it asked for.
    ...(options.fastPath === false ? {} : { loginEnv: (user: UserInfo, env: Record<string, string>) => Promise.resolve(loginEnv.peek(user, env)) }),
  };
  const direct: DirectSpawn | undefined = pool
    ? (plan, stdin) => pool.spawn(plan.user, { file: plan.command.file, args: plan.command.args, env: plan.env, cwd: plan.cwd, stdin })
    : undefined;
  const directPty: DirectPtySpawn | undefined = pool
    ? (plan, replica) => pool.spawn(plan.user, { file: plan.command.file, args: plan.command.args, env: plan.env, cwd: plan.cwd, stdin: false, pty: replica })
    : undefined;
  return {
    context,
    direct,
    directPty,
    warm: (user) => {
      // The capture goes through the spawner once it is up (a fork of the agent otherwise).
      const capture = (): void => void loginEnv.get(user, childEnv(user, context, {}));
      if (pool) void pool.warm(user).then(capture);
      else capture();
    },
    close: () => {
      loginEnv.close();
      pool?.close();
    },
  };
}
