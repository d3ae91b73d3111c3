import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** gVisor's own cgroupfs (the sandbox's OCI spec mounts it): the sandbox's root pids cgroup. */
export const SANDBOX_PIDS_CGROUP = '/sys/fs/cgroup/pids';
/** Tasks kept for the agent above the users' limit, so it can still answer, spawn a `kill`, clean up. */
export const AGENT_TASK_RESERVE = 64;

let userTasksDir: string | undefined;

/**
 * Caps the sandbox's tasks in gVisor's pids controller, where fork and clone past the cap fail
 * with EAGAIN inside the sandbox, which stays alive, long before the host's (higher) pids limit
 * of the gVisor processes is reached. Two groups under the sandbox's root: `agent` (this process
 * and its threads) and `user` (every process started for users, capped at `limit`); the root
 * allows `limit` plus AGENT_TASK_RESERVE, so a fork bomb leaves the agent room to work. Root
 * inside can raise the caps: a guard against runaway code, not a boundary (the host limit is).
 */
/** Returns the users' group directory. */
export async function applyPidsLimit(limit: number, cgroupDir = SANDBOX_PIDS_CGROUP): Promise<string> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`pids limit must be a positive integer, got ${limit}`);
  const agentDir = join(cgroupDir, 'agent');
  const userDir = join(cgroupDir, 'user');
  await mkdir(agentDir, { recursive: true });
  await mkdir(userDir, { recursive: true });
  await writeFile(join(cgroupDir, 'pids.max'), `${limit + AGENT_TASK_RESERVE}\n`);
  await writeFile(join(userDir, 'pids.max'), `${limit}\n`);
  // The agent's own group is capped too: a process whose move to `user` did not take stays here,
  // and must still meet a limit (gVisor was seen letting a sandbox's root group run past its cap).
  await writeFile(join(agentDir, 'pids.max'), `${limit + AGENT_TASK_RESERVE}\n`);
  await writeFile(join(agentDir, 'cgroup.procs'), `${process.pid}\n`);
  userTasksDir = userDir;
  return userDir;
}

/**
 * Moves a just-started user process (and so everything it starts afterwards) into the users'
 * group. Synchronous, right after spawn returns, so the child has had no time to fork yet in
 * practice; children it made before the move stay with the agent, bounded by the root's cap.
 */
export function placeUserTask(pid: number | undefined): void {
  if (userTasksDir === undefined || pid === undefined) return;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(join(userTasksDir, 'cgroup.procs'), `${pid}\n`);
      return;
    } catch {
      // The process already exited or the cgroup is gone (nothing to place), or the write lost a
      // race with the child's own start: try once more.
    }
  }
}
