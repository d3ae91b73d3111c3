import type { Writable } from 'node:stream';
import type { SandboxdConnection } from '@sandboxd/mcp';
import { CommandExitError } from 'e2b';
import { commandLine, parseKeyValues } from './sandbox-args.js';
import { connectSandbox, toCliError } from './sandbox-client.js';

export interface ExecOptions {
  user?: string;
  cwd?: string;
  env?: string[];
}

/** Writes `data` and, when the stream's buffer is full, waits for it to drain (backpressure to the SDK). */
export function writeWithBackpressure(stream: Writable, data: string | Uint8Array): Promise<void> | undefined {
  if (stream.write(data)) return undefined;
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/**
 * `sandbox exec <id> -- <cmd...>`: runs the command in the sandbox with no time limit, its stdout
 * and stderr streamed live to ours; resolves to the command's exit code.
 */
export async function execInSandbox(
  connection: SandboxdConnection,
  sandboxId: string,
  args: readonly string[],
  opts: ExecOptions,
  io: { stdout: Writable; stderr: Writable },
): Promise<number> {
  const cmd = commandLine(args);
  const envs = parseKeyValues(opts.env, '--env');
  try {
    const sandbox = await connectSandbox(connection, sandboxId);
    const result = await sandbox.commands.run(cmd, {
      timeoutMs: 0,
      envs,
      ...(opts.user ? { user: opts.user } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      onStdout: (data) => writeWithBackpressure(io.stdout, data),
      onStderr: (data) => writeWithBackpressure(io.stderr, data),
    });
    return result.exitCode;
  } catch (error) {
    if (error instanceof CommandExitError) return error.exitCode;
    throw toCliError(error, connection, sandboxId);
  }
}
