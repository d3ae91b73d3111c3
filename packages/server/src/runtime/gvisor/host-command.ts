import { spawn } from 'node:child_process';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions extends OperationOptions {
  /** Written to the command's stdin, then stdin is closed. */
  input?: string;
  /** Exit codes that count as success (default: only 0). */
  okExitCodes?: number[];
}

/**
 * Runs a host command (runsc, ip, nft, ...) and returns its output. A non-zero exit, a timeout or
 * an abort becomes a RUNTIME_FAILURE / TIMEOUT / CANCELED error that quotes the command's stderr.
 */
export function runCommand(file: string, args: string[], options: RunCommandOptions = {}): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(SandboxdError.from(options.signal.reason));
      return;
    }
    const child = spawn(file, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    const finish = (error: SandboxdError | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve({ stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
    };
    const onAbort = (): void => {
      child.kill('SIGKILL');
      finish(SandboxdError.from(options.signal?.reason));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new SandboxdError(ErrorCode.TIMEOUT, `${file} ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) =>
      finish(new SandboxdError(ErrorCode.RUNTIME_FAILURE, `cannot run ${file}: ${error.message}`, { cause: error })),
    );
    child.on('close', (code, signal) => {
      if (code !== null && (options.okExitCodes ?? [0]).includes(code)) {
        finish(undefined);
        return;
      }
      const why = code === null ? `signal ${signal}` : `exit code ${code}`;
      const detail = Buffer.concat(stderr).toString().trim() || Buffer.concat(stdout).toString().trim();
      finish(new SandboxdError(ErrorCode.RUNTIME_FAILURE, `${file} ${args.join(' ')} failed (${why}): ${detail}`));
    });
    if (child.stdin) {
      // A command that exits without reading its input must not crash the daemon with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}
