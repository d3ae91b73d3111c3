import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { UserInfo } from '../users/user-db.js';
import { PathResolveError, resolveUserPath } from '../users/resolve-path.js';
import type { SpawnPlan } from './driver.js';

/** The login shell the E2B SDKs start every command with: `/bin/bash -l -c <command>`. */
export const LOGIN_BASH = '/bin/bash';

export interface SpawnPlanInput {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string | undefined;
}

export interface SpawnContext {
  /** PATH the agent hands to children. */
  path: string;
  /** Sandbox-global environment variables. */
  sandboxEnv: Record<string, string>;
  /** uid the agent runs as. */
  agentUid: number;
  /**
   * `setpriv` binary used to switch user with the target's supplementary groups; without it the
   * switch uses spawn's uid/gid (which drops supplementary groups).
   */
  setprivPath: string | undefined;
  /**
   * The environment a login shell leaves for a user and input environment, when it can stand in
   * for one: `bash -l -c X` then runs as `bash -c X` with it (see LoginEnvCache).
   */
  loginEnv?: ((user: UserInfo, env: Record<string, string>) => Promise<Record<string, string> | undefined>) | undefined;
}

/** What runs a program as a user: a `setpriv` wrapper keeping supplementary groups, or spawn's own uid/gid. */
export interface Credentials {
  file: string;
  args: string[];
  uid?: number | undefined;
  gid?: number | undefined;
}

/**
 * Runs `executable args` as `user`: unchanged when the agent already is that user, through
 * `setpriv --init-groups` (supplementary groups from /etc/group, as envd does) when there is one,
 * else with spawn's uid/gid (which drops supplementary groups). `user.name === ''` (an account
 * without a passwd entry) gets no supplementary groups.
 */
export function asUser(
  executable: string,
  args: string[],
  user: Pick<UserInfo, 'name' | 'uid' | 'gid'>,
  ctx: Pick<SpawnContext, 'agentUid' | 'setprivPath'>,
): Credentials {
  if (user.uid === ctx.agentUid) return { file: executable, args };
  if (ctx.setprivPath) {
    const groups = user.name !== '' ? '--init-groups' : '--clear-groups';
    return { file: ctx.setprivPath, args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, groups, '--', executable, ...args] };
  }
  return { file: executable, args, uid: user.uid, gid: user.gid };
}

/** The command of `bash -l -c <command>` (exactly the SDKs' shape), else undefined. */
export function loginShellCommand(cmd: string, args: string[]): string | undefined {
  return cmd === LOGIN_BASH && args.length === 3 && args[0] === '-l' && args[1] === '-c' ? args[2] : undefined;
}

/**
 * Child environment in envd's order (later wins): PATH, HOME, USER, LOGNAME, the sandbox's env
 * vars, the request's envs.
 */
export function childEnv(user: UserInfo, ctx: Pick<SpawnContext, 'path' | 'sandboxEnv'>, envs: Record<string, string>): Record<string, string> {
  return { PATH: ctx.path, HOME: user.home, USER: user.name, LOGNAME: user.name, ...ctx.sandboxEnv, ...envs };
}

/** Resolves cwd, environment, executable and credentials; invalid input is BAD_REQUEST. */
export async function planSpawn(input: SpawnPlanInput, user: UserInfo, ctx: SpawnContext): Promise<SpawnPlan> {
  const userCmd = [input.cmd, ...input.args].join(' ');
  let cwd: string;
  try {
    cwd = resolveUserPath(input.cwd ?? '', user);
  } catch (err) {
    if (err instanceof PathResolveError) throw new SandboxdError(ErrorCode.BAD_REQUEST, err.message);
    throw err;
  }
  // Synchronous on purpose, here and in lookPath: a stat is one syscall, while each asynchronous
  // one is a hop through libuv's thread pool and back (futex wake-ups, each a trip into gVisor).
  if (!statSync(cwd, { throwIfNoEntry: false })) throw new SandboxdError(ErrorCode.BAD_REQUEST, `cwd '${cwd}' does not exist`);
  const baseEnv = childEnv(user, ctx, input.envs);
  const executable = lookPath(input.cmd, cwd, baseEnv['PATH'] ?? '');
  if (!executable) {
    const reason = input.cmd.includes('/')
      ? `fork/exec ${input.cmd}: no such file or directory`
      : `exec: "${input.cmd}": executable file not found in $PATH`;
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `error starting process '${userCmd}': ${reason}`);
  }
  const script = loginShellCommand(input.cmd, input.args);
  const login = script !== undefined && ctx.loginEnv ? await ctx.loginEnv(user, baseEnv) : undefined;
  const [args, env] = script !== undefined && login ? [['-c', script], login] : [input.args, baseEnv];
  return { ...asUser(executable, args, user, ctx), command: { file: executable, args }, user, env, cwd };
}

function isExecutable(path: string): boolean {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st?.isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Like `execvp`'s lookup: names with a slash are taken as paths (relative to cwd), others searched in PATH. */
export function lookPath(cmd: string, cwd: string, path: string): string | undefined {
  if (cmd === '') return undefined;
  if (cmd.includes('/')) {
    const full = resolve(cwd, cmd);
    return isExecutable(full) ? full : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const full = join(resolve(cwd, dir), cmd);
    if (isExecutable(full)) return full;
  }
  return undefined;
}
