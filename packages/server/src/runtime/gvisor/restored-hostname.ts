import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import { runscExec } from './sandbox-exec.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Gives a sandbox restored from an image its own hostname (its id, as the OCI spec gives a cold
 * one): a restored kernel keeps the hostname of the sandbox the image was taken of. The agent
 * cannot (the sandbox has no CAP_SYS_ADMIN), so the template's `hostname` (else Python's
 * `socket.sethostname`) runs through `runsc exec` with CAP_SYS_ADMIN added for that one process,
 * in the sandbox's own UTS namespace. RUNTIME_FAILURE when neither works.
 */
export async function setRestoredHostname(runscDir: string, sandboxId: string, options: OperationOptions = {}): Promise<void> {
  const outputs: string[] = [];
  const onLine = (line: string): void => void outputs.push(line);
  for (const argv of [
    ['hostname', sandboxId],
    ['python3', '-c', 'import socket, sys; socket.sethostname(sys.argv[1])', sandboxId],
  ]) {
    const code = await runscExec(
      runscDir,
      sandboxId,
      { argv, uid: 0, gid: 0, cwd: '/', env: { PATH }, capabilities: ['CAP_SYS_ADMIN'] },
      { ...options, timeoutMs: 30_000, onLine },
    ).catch((error: unknown) => {
      outputs.push(SandboxdError.from(error).message);
      return -1;
    });
    if (code === 0) return;
  }
  throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `cannot set the hostname of restored sandbox "${sandboxId}": ${outputs.join('; ').slice(0, 500)}`);
}
