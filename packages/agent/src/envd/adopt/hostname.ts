/**
 * Sets the sandbox kernel's hostname (`sethostname(2)`, which Node cannot call): the template's
 * `hostname` binary, else Python's `socket.sethostname`. The agent runs as root with
 * CAP_SYS_ADMIN in the sandbox's own UTS namespace, so only this sandbox sees the change. Used by
 * an adopt that names a hostname: a kernel restored from an image still has the hostname of the
 * sandbox the image was taken of.
 */
import { execFile } from 'node:child_process';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

const TIMEOUT_MS = 10_000;

const run = (file: string, args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: TIMEOUT_MS, env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${file}: ${String(stderr).trim() || error.message}`));
      else resolve();
    });
  });

export async function setKernelHostname(hostname: string): Promise<void> {
  const failures: string[] = [];
  for (const [file, args] of [
    ['hostname', [hostname]],
    ['python3', ['-c', 'import socket, sys; socket.sethostname(sys.argv[1])', hostname]],
  ] as const) {
    try {
      await run(file, [...args]);
      return;
    } catch (error) {
      failures.push((error as Error).message);
    }
  }
  throw new SandboxdError(ErrorCode.INTERNAL, `cannot set the hostname to ${hostname}: ${failures.join('; ')}`);
}
