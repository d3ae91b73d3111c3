import { readFile, writeFile } from 'node:fs/promises';

/** The pid space a sandbox host needs: gVisor's systrap spends 2-4 host tasks per sandbox task. */
export const MIN_PID_MAX = 4_194_304;

/**
 * Raises the host's kernel.pid_max to MIN_PID_MAX when it is lower (32768 on some kernels), so a
 * few sandboxes at their task limits cannot exhaust the host's pids. Never lowers it. Returns the
 * value in force.
 */
export async function ensureHostPidSpace(path = '/proc/sys/kernel/pid_max'): Promise<number> {
  const current = Number((await readFile(path, 'utf8')).trim());
  if (Number.isFinite(current) && current >= MIN_PID_MAX) return current;
  await writeFile(path, `${MIN_PID_MAX}\n`);
  return MIN_PID_MAX;
}
