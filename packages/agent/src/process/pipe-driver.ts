import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { placeUserTask } from '../limits/pids-limit.js';
import { chunks, signalIfAlive } from './driver.js';
import type { DriverEvents, ProcessDriver, RawExit, SpawnPlan } from './driver.js';

/** envd's stdout/stderr chunk size. */
export const STD_CHUNK_SIZE = 32 * 1024;
/**
 * After the child exits, output still buffered in the pipes is read; descendants that keep the
 * pipes open stop being read once the pipes have been quiet this long (envd closes them on exit).
 */
const DRAIN_QUIET_MS = 100;

/** What PipeDriver needs of a child: a ChildProcess, or a command a spawner started. */
export interface PipeChild {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  /** performance.now() of the steps of its start and exit report, by name (a spawner's). */
  readonly timeline?: Record<string, number>;
}

/** Starts a plan's command without forking the agent, or answers undefined (see SpawnerPool). */
export type DirectSpawn = (plan: SpawnPlan, stdin: boolean) => Promise<{ child: PipeChild; pid: number } | undefined>;

/**
 * Spawns a child with pipes: through `direct` when it takes the command, else forked by the agent.
 * Resolves once it has a pid; rejects with the spawn error otherwise.
 */
export async function spawnPipeDriver(plan: SpawnPlan, stdin: boolean, events: DriverEvents, direct?: DirectSpawn): Promise<ProcessDriver> {
  const started = direct ? await direct(plan, stdin) : undefined;
  if (started) return new PipeDriver(started.child, started.pid, events, 'spawner');
  const child = spawn(plan.file, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    uid: plan.uid,
    gid: plan.gid,
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...(plan.argv0 !== undefined ? { argv0: plan.argv0 } : {}),
    ...(plan.detached === true ? { detached: true } : {}),
  });
  placeUserTask(child.pid);
  if (child.pid === undefined) {
    const err = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw err;
  }
  return new PipeDriver(child, child.pid, events);
}

class PipeDriver implements ProcessDriver {
  readonly isPty = false;
  readonly timeline: Record<string, number> | undefined;
  private stdinClosed: boolean;
  private openOutputs = 2;
  private lastOutputAt = Date.now();
  private outputSeq = 0;
  private drainCheckPending = false;
  private paused = false;
  private exit: RawExit | undefined;
  private drainTimer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(
    private readonly child: PipeChild,
    readonly pid: number,
    private readonly events: DriverEvents,
    readonly startedBy: 'agent' | 'spawner' = 'agent',
  ) {
    this.timeline = child.timeline;
    this.stdinClosed = child.stdin === null;
    child.stdin?.on('error', () => {
      this.stdinClosed = true;
    });
    this.attach(child.stdout, 'stdout');
    this.attach(child.stderr, 'stderr');
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      this.exit = { code, signal, exitedAt: performance.now() };
      // Quiet time counts from the exit, never from before it.
      this.lastOutputAt = Math.max(this.lastOutputAt, Date.now());
      this.maybeFinish();
    });
  }

  get stdinOpen(): boolean {
    return !this.stdinClosed;
  }

  private attach(stream: Readable | null, kind: 'stdout' | 'stderr'): void {
    if (!stream) {
      this.openOutputs -= 1;
      return;
    }
    stream.on('data', (buf: Buffer) => {
      this.outputSeq += 1;
      this.lastOutputAt = Date.now();
      for (const part of chunks(buf, STD_CHUNK_SIZE)) this.events.onOutput(kind, part);
      // Time spent delivering is not quiet time.
      this.lastOutputAt = Date.now();
    });
    stream.on('error', () => undefined);
    stream.once('close', () => {
      this.openOutputs -= 1;
      this.maybeFinish();
    });
    // A spawner's sockets arrive paused.
    stream.resume();
  }

  private maybeFinish(): void {
    if (this.finished || !this.exit) return;
    if (this.openOutputs <= 0) {
      this.finish();
      return;
    }
    if (this.drainTimer || this.drainCheckPending) return;
    const check = (): void => {
      this.drainTimer = undefined;
      if (this.finished) return;
      if (this.openOutputs <= 0) return this.finish();
      if (!this.paused && Date.now() - this.lastOutputAt >= DRAIN_QUIET_MS) {
        // A starved event loop runs timers before it reads pipes that became readable meanwhile:
        // let two poll phases pass and give up the pipes only if they brought nothing.
        const seq = this.outputSeq;
        setImmediate(() =>
          setImmediate(() => {
            this.drainCheckPending = false;
            if (this.finished) return;
            if (this.openOutputs <= 0) return this.finish();
            if (this.outputSeq !== seq || this.paused) {
              this.drainTimer = setTimeout(check, DRAIN_QUIET_MS);
              return;
            }
            this.child.stdout?.destroy();
            this.child.stderr?.destroy();
            this.finish();
          }),
        );
        this.drainCheckPending = true;
        return;
      }
      this.drainTimer = setTimeout(check, DRAIN_QUIET_MS);
    };
    this.drainTimer = setTimeout(check, DRAIN_QUIET_MS);
  }

  private finish(): void {
    if (this.finished || !this.exit) return;
    this.finished = true;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.child.stdin?.destroy();
    this.stdinClosed = true;
    this.events.onExit(this.exit);
  }

  pause(): void {
    this.paused = true;
    this.child.stdout?.pause();
    this.child.stderr?.pause();
  }

  resume(): void {
    this.paused = false;
    this.child.stdout?.resume();
    this.child.stderr?.resume();
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exit) signalIfAlive(this.pid, signal);
  }

  write(data: Uint8Array): Promise<void> {
    const stdin = this.child.stdin;
    if (!stdin || this.stdinClosed) return Promise.reject(new Error('stdin not enabled or closed'));
    return new Promise((resolve, reject) => {
      stdin.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  closeStdin(): Promise<void> {
    const stdin = this.child.stdin;
    if (!stdin || this.stdinClosed) return Promise.resolve();
    this.stdinClosed = true;
    return new Promise((resolve) => stdin.end(() => resolve()));
  }

  closeOutput(kind: 'stdout' | 'stderr'): void {
    // Node's stdio "pipes" are socketpairs, where closing with unread data makes the writer see
    // ECONNRESET instead of EPIPE: deliver the SIGPIPE ourselves, then close.
    if (!this.exit) this.kill('SIGPIPE');
    (kind === 'stdout' ? this.child.stdout : this.child.stderr)?.destroy();
  }

  resize(): void {
    throw new Error('tty not assigned to process');
  }
}
