import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { placeUserTask } from '../limits/pids-limit.js';
import type { LoginShellResult, LoginShellRunner } from '../users/login-env.js';
import type { UserInfo } from '../users/user-db.js';
import { asUser, LOGIN_BASH } from './spawn-plan.js';
import type { SpawnContext } from './spawn-plan.js';
import type { SpawnerPool } from './spawner.js';

/** Runs `bash -l -c <script>` as a user the way commands are run (same switch of user, same pids group). */
export function loginShellRunner(ctx: Pick<SpawnContext, 'agentUid' | 'setprivPath'>): LoginShellRunner {
  return (user: UserInfo, env: Record<string, string>, script: string, signal: AbortSignal): Promise<LoginShellResult> =>
    new Promise((resolve, reject) => {
      const creds = asUser(LOGIN_BASH, ['-l', '-c', script], user, ctx);
      const child = spawn(creds.file, creds.args, {
        cwd: existsSync(user.home) ? user.home : '/',
        env,
        uid: creds.uid,
        gid: creds.gid,
        stdio: ['ignore', 'pipe', 'pipe'],
        signal,
        killSignal: 'SIGKILL',
      });
      placeUserTask(child.pid);
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout?.on('data', (b: Buffer) => stdout.push(b));
      child.stderr?.on('data', (b: Buffer) => stderr.push(b));
      child.once('error', reject);
      child.once('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }));
    });
}

/**
 * The same through the user's spawner (posix_spawn: no fork of the agent, no setpriv), falling
 * back to `forked` when the spawner cannot take it.
 */
export function spawnerLoginShellRunner(pool: SpawnerPool, forked: LoginShellRunner): LoginShellRunner {
  return async (user, env, script, signal) => {
    const started = await pool.spawn(user, { file: LOGIN_BASH, args: ['-l', '-c', script], env, cwd: existsSync(user.home) ? user.home : '/', stdin: false });
    if (!started) return forked(user, env, script, signal);
    const { child, pid } = started;
    return new Promise((resolve) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let open = 2;
      let code: number | null | undefined;
      const onAbort = (): void => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      };
      const maybeDone = (): void => {
        if (open > 0 || code === undefined) return;
        signal.removeEventListener('abort', onAbort);
        resolve({ code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) });
      };
      for (const [stream, into] of [
        [child.stdout, stdout],
        [child.stderr, stderr],
      ] as const) {
        if (!stream) {
          open -= 1;
          continue;
        }
        stream.on('data', (b: Buffer) => into.push(b));
        stream.on('error', () => undefined);
        stream.once('close', () => {
          open -= 1;
          maybeDone();
        });
        stream.resume();
      }
      child.on('error', () => undefined);
      child.once('exit', (c, s) => {
        code = s === null ? c : null;
        maybeDone();
      });
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  };
}
