/**
 * A context: one kernel with its own state, its language and cwd, and a queue that lets one
 * execution run at a time. The kernel is replaced (same context id) when it dies, when an
 * interrupt does not take, and on restart.
 */
import type { OomKill } from '../memory/memory-guard.js';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { ContextInfo, ExecutionLine } from '@sandboxd/protocol';
import { runCell, type ErrorLine, type RunningCell } from './cell.js';
import { describeExit, Kernel, type KernelExit } from './jupyter/kernel.js';
import { reseedCode, restoreEnvCode, setEnvCode, warmupCode } from './languages.js';
import { Mutex } from './mutex.js';
import { PushStream } from './push-stream.js';
import type { ExecutionTrace } from './trace.js';
import { startUsageMeter } from './usage.js';
import type { UserInfo } from './user.js';

export interface ContextOptions {
  id: string;
  language: string;
  cwd: string;
  spec: string;
  user: UserInfo;
  /** Environment every kernel of this context starts with (sandbox env vars included). */
  env: Record<string, string>;
  runtimeDir: string;
  /** How long an interrupted cell may take to stop before the kernel is restarted. */
  interruptGraceMs?: number;
  oomKillOf?: (pid: number) => OomKill | undefined;
  /** Mirror kernels' stdout/stderr to the agent's stderr. */
  kernelDebug?: boolean;
  /**
   * The kernel starts on the context's first use (an execution, `ready`), not at construction:
   * a default context nobody uses then costs no memory (JavaScript's kernel holds ~180 MiB).
   */
  lazy?: boolean;
}

/** Output queued per execution before the kernel's iopub channel is paused (the HTTP edge adds its socket buffer). */
const STREAM_HIGH_WATER_MARK = 1024 * 1024;

/** Approximate size of a line in the queue: the length of its strings. */
function lineSize(line: ExecutionLine): number {
  let size = 64;
  for (const value of Object.values(line)) if (typeof value === 'string') size += value.length;
  return size;
}

type ExitReason = 'restart' | 'interrupt-failed' | 'close';
type CellEnd = 'completed' | 'interrupted' | 'died';

export class Context {
  /** Undefined only for a lazy context that has not been used yet. */
  private kernel: Promise<Kernel> | undefined;
  private readonly lock = new Mutex();
  private readonly exitReasons = new WeakMap<Kernel, ExitReason>();
  private running = false;
  private closed = false;
  /** Aborted on close: a kernel still starting then stops. */
  private readonly lifetime = new AbortController();
  /** Told on stderr at the start of the next execution (state was lost while nobody listened). */
  private notice: string | undefined;

  constructor(private readonly options: ContextOptions) {
    if (options.lazy !== true) this.kernel = this.boot();
  }

  get id(): string {
    return this.options.id;
  }

  info(): ContextInfo {
    return { id: this.options.id, language: this.options.language, cwd: this.options.cwd };
  }

  /**
   * Resolves when the kernel is up; rejects when it could not start, or with KernelStartFailed
   * naming the caller's deadline when `signal` (the request's) aborts first.
   */
  async ready(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.bootIfLazy();
    await this.currentKernel(options.signal);
  }

  /**
   * Starts a lazy context's kernel on its first use. Called before the caller queues for the lock,
   * so that the warm-up takes its place in the queue first, as it does for an eager context.
   */
  private bootIfLazy(): void {
    if (this.kernel === undefined && !this.closed) this.kernel = this.boot();
  }

  /** The current kernel start, or undefined for a lazy context not used yet. */
  private settledKernel(): Promise<Kernel | undefined> {
    return this.kernel === undefined ? Promise.resolve(undefined) : this.kernel.catch(() => undefined);
  }

  /**
   * A kernel start has no limit of its own: it ends when the kernel answers, exits, or the context
   * closes. Each caller waits with its own request's deadline instead (a starved machine only
   * makes the requests that wait for it time out, each by its own limit).
   */
  private boot(): Promise<Kernel> {
    const { spec, cwd, env, user, runtimeDir, language, kernelDebug } = this.options;
    const started = Kernel.start({ spec, cwd, env, user, runtimeDir, debug: kernelDebug === true, signal: this.lifetime.signal });
    const warmup = warmupCode(language);
    // The warm-up takes its place in the queue now, before any execution can: it sets up what the
    // first cell may rely on (JavaScript's `require`, Java's env properties), and it runs like a
    // queued execution, so it never overlaps (or is billed to) user code.
    const held = warmup ? this.lock.acquire() : undefined;
    started.then(
      (kernel) => {
        void kernel.exited.then((exit) => this.onExit(kernel, exit));
        void held?.then(async (release) => {
          try {
            if (kernel.alive && warmup) await this.silent(kernel, warmup);
          } finally {
            release();
          }
        });
      },
      () => void held?.then((release) => release()),
    );
    return started;
  }

  private onExit(kernel: Kernel, exit: KernelExit): void {
    if (this.closed || this.exitReasons.has(kernel)) return;
    if (!this.running) {
      this.notice = `sandboxd: the kernel of context ${this.id} died while idle (${describeExit(exit)}); it was restarted and its state was lost\n`;
    }
    this.kernel = this.boot();
  }

  /**
   * A kernel that is up, starting a new one if the last start failed; waits no longer than
   * `signal` (the request's deadline), and then fails with KernelStartFailed naming it.
   */
  private async currentKernel(signal?: AbortSignal): Promise<Kernel> {
    const startedAt = performance.now();
    let kernel: Kernel | typeof ABORTED;
    this.bootIfLazy();
    if (this.kernel === undefined) throw new SandboxdError(ErrorCode.NOT_FOUND, `context ${this.id} is closed`);
    try {
      kernel = await untilAborted(this.kernel, signal);
    } catch (error) {
      if (this.closed) throw error;
      this.kernel = this.boot();
      kernel = await untilAborted(this.kernel, signal);
    }
    if (kernel === ABORTED) throw this.startTooSlow(startedAt, signal);
    return kernel;
  }

  private startTooSlow(startedAt: number, signal: AbortSignal | undefined): SandboxdError {
    const waited = Math.round(performance.now() - startedAt);
    const reason = signal?.reason instanceof Error ? ` (${signal.reason.message})` : '';
    return new SandboxdError(
      ErrorCode.TIMEOUT,
      `The kernel of context ${this.id} was still starting when the request's deadline passed, after ${waited} ms${reason}: the limit is the request's own timeout (runCode's timeoutMs / requestTimeoutMs, or the client going away)`,
    );
  }

  /** Streams the lines of one execution; `signal` (client gone, shutdown) interrupts it. */
  execute(code: string, envVars: Record<string, string>, options: { signal?: AbortSignal; trace?: ExecutionTrace } = {}): AsyncIterable<ExecutionLine> {
    const stream = new PushStream<ExecutionLine>({ highWaterMark: STREAM_HIGH_WATER_MARK, sizeOf: lineSize });
    this.bootIfLazy();
    void this.run(stream, code, envVars, options.signal, options.trace).finally(() => stream.end());
    return stream;
  }

  private async run(stream: PushStream<ExecutionLine>, code: string, envVars: Record<string, string>, signal?: AbortSignal, trace?: ExecutionTrace): Promise<void> {
    let release: () => void;
    try {
      release = await this.lock.acquire({ signal });
    } catch {
      return; // the client left while queued
    }
    this.running = true;
    trace?.mark('locked');
    try {
      let kernel: Kernel;
      try {
        kernel = await this.currentKernel(signal);
      } catch (error) {
        const message = error instanceof SandboxdError ? error.message : `The kernel of context ${this.id} could not be started: ${String(error)}`;
        void stream.push(failure('KernelStartFailed', message));
        void stream.push({ type: 'end_of_execution' });
        return;
      }
      if (this.notice) {
        void stream.push({ type: 'stderr', text: this.notice, timestamp: new Date().toISOString() });
        this.notice = undefined;
      }
      const names = Object.keys(envVars);
      if (names.length > 0) await this.silent(kernel, setEnvCode(this.options.language, envVars));
      trace?.mark('kernelReady');
      const meter = startUsageMeter(kernel.pid);
      trace?.mark('meterStarted');
      const startedAt = performance.now();
      const cell = runCell(kernel, code, { silent: false, emit: (line) => stream.push(line), ...(trace ? { trace } : {}) });
      const end = await this.awaitCell(kernel, cell, stream, signal);
      const wallTimeMs = performance.now() - startedAt;
      trace?.mark('cellDone');
      if (names.length > 0 && end !== 'died' && kernel.alive) {
        await this.silent(kernel, restoreEnvCode(this.options.language, names, this.options.env));
      }
      const usage = meter.stop(wallTimeMs);
      trace?.mark('usageRead');
      void stream.push(usage);
      void stream.push({ type: 'end_of_execution' });
    } finally {
      this.running = false;
      release();
    }
  }

  private async silent(kernel: Kernel, code: string): Promise<void> {
    if (code === '') return;
    await Promise.race([runCell(kernel, code, { silent: true }).done, kernel.exited]).catch(() => undefined);
  }

  private async awaitCell(kernel: Kernel, cell: RunningCell, stream: PushStream<ExecutionLine>, signal?: AbortSignal): Promise<CellEnd> {
    const aborted = new Promise<'aborted'>((resolve) => {
      if (signal?.aborted) resolve('aborted');
      else signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const first = await Promise.race([cell.done.then(() => 'done' as const), kernel.exited, aborted]);
    if (first === 'done') return 'completed';
    if (first !== 'aborted') {
      cell.detach();
      void stream.push(this.deathError(kernel, first));
      return 'died';
    }
    await kernel.interrupt().catch(() => undefined);
    const grace = new Promise<'timeout'>((resolve) => setTimeout(resolve, this.options.interruptGraceMs ?? 2500, 'timeout').unref());
    const second = await Promise.race([cell.done.then(() => 'done' as const), kernel.exited, grace]);
    if (second === 'done') return 'interrupted';
    cell.detach();
    if (second !== 'timeout') {
      void stream.push(this.deathError(kernel, second));
      return 'died';
    }
    const message = `The execution did not stop after an interrupt, so context ${this.id} was restarted and its state was lost`;
    this.notice = `sandboxd: ${message}\n`;
    void stream.push(failure('ContextRestarted', message));
    await this.replaceKernel(kernel, 'interrupt-failed');
    return 'died';
  }

  private deathError(kernel: Kernel, exit: KernelExit): ErrorLine {
    if (this.exitReasons.get(kernel) === 'restart') return failure('ContextRestarting', 'Context was restarted');
    const oom = this.options.oomKillOf?.(kernel.pid);
    if (oom) {
      const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024);
      return failure(
        'OutOfMemory',
        `The kernel was killed because the sandbox ran out of memory (it used ${mib(oom.rssBytes)} MiB of the sandbox's ${mib(oom.totalBytes)} MiB); context ${this.id} was restarted and its state was lost`,
      );
    }
    const detail = kernel.stderrTail.trim().split('\n').slice(-5).join('\n');
    return failure(
      'KernelDied',
      `The kernel died during the execution (${describeExit(exit)}), possibly out of memory or a crash; context ${this.id} was restarted and its state was lost`,
      detail,
    );
  }

  /** Kills `kernel` (if still current) and starts a fresh one; resolves when it is up. */
  private async replaceKernel(kernel: Kernel | undefined, reason: ExitReason): Promise<void> {
    if (kernel) {
      this.exitReasons.set(kernel, reason);
      this.kernel = this.boot();
      await kernel.kill();
    } else {
      this.kernel = this.boot();
    }
    await this.kernel;
  }

  /**
   * The sandbox's environment changed (an adopt): later kernels start with `env`, and the live
   * one gets it in place (names no longer in `env` removed) once the executions queued before,
   * warm-up included, are done. Another user restarts the kernel as that user. `reseedNeeded`
   * (a kernel restored from an image) also seeds its random generators afresh, in the same cell.
   */
  async adopt(user: UserInfo, env: Record<string, string>, reseedNeeded = false): Promise<void> {
    const previous = this.options.env;
    const sameUser = user.name === this.options.user.name;
    this.options.env = env;
    this.options.user = user;
    if (this.kernel === undefined) return; // not started: it will start with these
    if (!sameUser) return this.restart();
    // The kernel's own warm-up queues for the lock as soon as it is up: let it go first. A kernel
    // whose start failed (it exited while starting) is started again here, outside the lock, so
    // that the new one's warm-up is queued before this adopt too. The adopt's deadline is the
    // daemon's: it ends the request when the create's timeout passes.
    await this.currentKernel().catch(() => undefined);
    const release = await this.lock.acquire();
    try {
      const kernel = await this.settledKernel();
      if (kernel === undefined || !kernel.alive) return;
      const names = [...new Set([...Object.keys(previous), ...Object.keys(env)])].filter((name) => previous[name] !== env[name]);
      // One cell: the env, and after a restore the random generators.
      const reseed = reseedNeeded ? reseedCode(this.options.language) : undefined;
      const code = [names.length > 0 ? restoreEnvCode(this.options.language, names, env) : '', reseed ?? ''].filter(Boolean).join('\n');
      if (code !== '') await this.silent(kernel, code);
    } finally {
      release();
    }
  }

  /** Restarts the kernel (state lost); an execution in progress ends with `ContextRestarting`. */
  async restart(): Promise<void> {
    if (this.kernel === undefined) return; // a lazy context not started has no state to lose
    const kernel = await this.settledKernel();
    await this.replaceKernel(kernel, 'restart');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lifetime.abort(new Error(`context ${this.id} closed`));
    const kernel = await this.settledKernel();
    if (kernel) {
      this.exitReasons.set(kernel, 'close');
      await kernel.kill();
    }
  }
}

const ABORTED: unique symbol = Symbol('aborted');

/** `promise`, or {@link ABORTED} as soon as `signal` aborts (the promise keeps going). */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | typeof ABORTED> {
  if (signal === undefined) return await promise;
  if (signal.aborted) return ABORTED;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

function failure(name: string, value: string, traceback = ''): ErrorLine {
  return { type: 'error', name, value, traceback };
}
