import { spawn } from 'node:child_process';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { ExecOptions, ExecSpec } from '../sandbox-runtime.js';

/**
 * Runs one process inside a running sandbox with `runsc exec` (no agent involved): the template
 * builder's steps. Output arrives line by line; resolves with the exit code (a signal is 128+n).
 */
export function runscExec(stateDir: string, sandboxId: string, spec: ExecSpec, options: ExecOptions = {}): Promise<number> {
  const args = ['--root', stateDir, '--platform=systrap', 'exec', '--user', `${spec.uid}:${spec.gid}`, '--cwd', spec.cwd];
  for (const [key, value] of Object.entries(spec.env)) args.push('--env', `${key}=${value}`);
  for (const cap of spec.capabilities ?? []) args.push('--cap', cap);
  args.push(sandboxId, ...spec.argv);
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(SandboxdError.from(options.signal.reason));
      return;
    }
    const child = spawn('runsc', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const pending = { stdout: '', stderr: '' };
    const feed = (stream: 'stdout' | 'stderr', chunk: string): void => {
      const lines = (pending[stream] + chunk).split('\n');
      pending[stream] = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line, stream);
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => feed('stdout', chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => feed('stderr', chunk));
    let failure: SandboxdError | undefined;
    const stop = (error: SandboxdError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const onAbort = (): void => stop(SandboxdError.from(options.signal?.reason));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => stop(new SandboxdError(ErrorCode.TIMEOUT, `command did not finish within ${options.timeoutMs} ms`)), options.timeoutMs);
    child.on('error', (error) => stop(new SandboxdError(ErrorCode.RUNTIME_FAILURE, `cannot run runsc exec: ${error.message}`, { cause: error })));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) options.onLine?.(pending[stream], stream);
      if (failure) reject(failure);
      else resolve(code ?? 128 + (signal ? 9 : 0));
    });
  });
}
