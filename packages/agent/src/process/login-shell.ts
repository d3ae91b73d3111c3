import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { placeUserTask } from '../limits/pids-limit.js';
import type { LoginShellResult, LoginShellRunner } from '../users/login-env.js';
import type { UserInfo } from '../users/user-db.js';
import { asUser, LOGIN_BASH } from './spawn-plan.js';
import type { SpawnContext } from './spawn-plan.js';

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
