/**
 * A template's start and ready commands (E2B's `setStartCmd(cmd, readyCmd)`), run once per agent
 * boot as the default user in the default working directory. E2B runs the start command while it
 * builds the template, polls the ready command until it exits 0 (or 10 minutes pass, or the start
 * command fails) and snapshots the ready sandbox: every sandbox of the template starts ready.
 * sandboxd boots each sandbox, so the agent does the same per sandbox and the daemon's create
 * waits on `state()` (`GET /template-ready`) before it answers. A sandbox restored from an image
 * keeps this state: a snapshot of a ready sandbox is ready at once.
 */
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { TemplateReadyState } from '@sandboxd/protocol';
import type { ManagedProcess } from '../process/managed-process.js';
import { OutputTail } from '../process/output-tail.js';
import type { EnvdDeps } from './deps.js';

/** E2B's `readyCommandTimeout`: how long the ready command may keep failing. */
const READY_TIMEOUT_MS = 10 * 60_000;
/** Retries start fast (a sandbox create waits on them) and settle at E2B's 2 s interval's half. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 1_000;

export interface TemplateStart {
  /** The current state; with `waitMs`, resolves early once it leaves `starting`. */
  state(waitMs?: number, signal?: AbortSignal): Promise<TemplateReadyState>;
}

interface Timing {
  timeoutMs: number;
  firstRetryMs: number;
  maxRetryMs: number;
}

const ended = (proc: ManagedProcess): Promise<void> => new Promise((resolve) => proc.onEnd(resolve));

/** Keeps reading a process's output (a subscriber that stops reading would pause it), the last KiBs kept. */
function drain(proc: ManagedProcess, tail: OutputTail, stop: AbortSignal): void {
  const sub = proc.subscribe();
  void (async () => {
    try {
      for (;;) {
        const next = await sub.channel.take({ signal: stop });
        if (next.kind !== 'item' || next.item.type === 'end') return;
        tail.push(next.item.data);
      }
    } catch {
      // stopped: the output is no longer kept
    } finally {
      sub.close();
    }
  })();
}

/** Starts the template's commands (none: ready at once) and tracks whether the sandbox is ready. */
export function startTemplateCommands(deps: EnvdDeps, timing: Partial<Timing> = {}): TemplateStart {
  const { startCmd, readyCmd } = deps.config;
  const { timeoutMs, firstRetryMs, maxRetryMs } = { timeoutMs: READY_TIMEOUT_MS, firstRetryMs: FIRST_RETRY_MS, maxRetryMs: MAX_RETRY_MS, ...timing };
  let current: TemplateReadyState = startCmd === undefined && readyCmd === undefined ? { state: 'ready' } : { state: 'starting' };
  const waiters = new Set<() => void>();
  const settle = (next: TemplateReadyState): void => {
    if (current.state !== 'starting') return;
    current = next;
    if (next.state === 'ready') deps.logger.info('template ready', { startCmd, readyCmd });
    else deps.logger.error('template not ready', { startCmd, readyCmd, message: next.state === 'failed' ? next.message : '' });
    for (const wake of waiters) wake();
    waiters.clear();
  };

  const user = deps.users.lookup(deps.config.defaultUser);
  const spawn = (cmd: string, tag: string, lifetimeMs?: number) => {
    if (!user) throw new SandboxdError(ErrorCode.FAILED_PRECONDITION, `the default user "${deps.config.defaultUser}" does not exist`);
    return deps.processes.start({ cmd: '/bin/sh', args: ['-c', cmd], envs: {}, cwd: deps.config.defaultWorkdir, tag }, user, { stdin: false, lifetimeMs });
  };

  const run = async (): Promise<void> => {
    const startedAt = performance.now();
    if (!user) {
      settle({ state: 'failed', message: `the template's commands cannot run: the default user "${deps.config.defaultUser}" does not exist` });
      return;
    }
    const stopDraining = new AbortController();
    if (startCmd !== undefined) {
      const tail = new OutputTail(4096);
      let proc: ManagedProcess;
      try {
        proc = await spawn(startCmd, 'start-cmd');
      } catch (error) {
        settle({ state: 'failed', message: `start command '${startCmd}' could not be started: ${SandboxdError.from(error).message}` });
        return;
      }
      deps.logger.info('start command started', { pid: proc.pid });
      drain(proc, tail, stopDraining.signal);
      // E2B: a start command that fails before the ready command passed fails the template; one that exits 0 does not.
      void ended(proc).then(async () => {
        // The drain loop takes the last output queued before the end.
        await new Promise((resolve) => setImmediate(resolve));
        const exit = proc.exit;
        if (exit && exit.exitCode !== 0) {
          const output = tail.text().trimEnd();
          settle({ state: 'failed', message: `start command '${startCmd}' failed (${exit.status})${output ? `:\n${output}` : ''}` });
        }
      });
    }
    if (readyCmd === undefined) {
      stopDraining.abort();
      settle({ state: 'ready' });
      return;
    }
    let delay = firstRetryMs;
    let last = '';
    while (current.state === 'starting') {
      const left = timeoutMs - (performance.now() - startedAt);
      if (left <= 0) {
        settle({
          state: 'failed',
          message: `ready command '${readyCmd}' did not pass within ${Math.round(timeoutMs / 1000)} s${last ? ` (last: ${last})` : ''}`,
        });
        break;
      }
      try {
        const attempt = await spawn(readyCmd, 'ready-cmd', Math.ceil(left));
        const tail = new OutputTail(1024);
        drain(attempt, tail, stopDraining.signal);
        await ended(attempt);
        if (attempt.exit?.exitCode === 0) {
          settle({ state: 'ready' });
          break;
        }
        last = `${attempt.exit?.status ?? 'no exit status'}${tail.text().trim() ? `: ${tail.text().trim().slice(-300)}` : ''}`;
      } catch (error) {
        last = SandboxdError.from(error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, maxRetryMs);
    }
    stopDraining.abort();
  };
  if (current.state === 'starting') {
    void run().catch((error: unknown) => settle({ state: 'failed', message: SandboxdError.from(error).message }));
  }

  return {
    async state(waitMs = 0, signal) {
      if (current.state !== 'starting' || waitMs <= 0) return current;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        signal?.addEventListener('abort', done, { once: true });
        waiters.add(done);
      });
      return current;
    },
  };
}
