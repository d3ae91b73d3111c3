import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { UserInfo } from '../users/user-db.js';
import { PathResolveError, resolveUserPath } from '../users/resolve-path.js';
import type { SpawnPlan } from './driver.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

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
  const cwdStat = await stat(cwd).catch(() => undefined);
  if (!cwdStat) throw new SandboxdError(ErrorCode.BAD_REQUEST, `cwd '${cwd}' does not exist`);
  const env = childEnv(user, ctx, input.envs);
  const executable = await lookPath(input.cmd, cwd, env['PATH'] ?? '');
  if (!executable) {
    const reason = input.cmd.includes('/')
      ? `fork/exec ${input.cmd}: no such file or directory`
      : `exec: "${input.cmd}": executable file not found in $PATH`;
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `error starting process '${userCmd}': ${reason}`);
  }
  if (user.uid === ctx.agentUid) return { file: executable, args: input.args, env, cwd };
  if (ctx.setprivPath) {
    return {
      file: ctx.setprivPath,
      args: [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', executable, ...input.args],
      env,
      cwd,
    };
  }
  return { file: executable, args: input.args, env, cwd, uid: user.uid, gid: user.gid };
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    if (!st.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Like `execvp`'s lookup: names with a slash are taken as paths (relative to cwd), others searched in PATH. */
export async function lookPath(cmd: string, cwd: string, path: string): Promise<string | undefined> {
  if (cmd === '') return undefined;
  if (cmd.includes('/')) {
    const full = resolve(cwd, cmd);
    return (await isExecutable(full)) ? full : undefined;
  }
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const full = join(resolve(cwd, dir), cmd);
    if (await isExecutable(full)) return full;
  }
  return undefined;
}
