import { closeSync, fchownSync, fstatSync, write } from 'node:fs';
import { createRequire } from 'node:module';
import { ReadStream } from 'node:tty';
import { spawn } from 'node-pty';
import type { IPty } from 'node-pty';
import { placeUserTask } from '../limits/pids-limit.js';
import { chunks, signalIfAlive } from './driver.js';
import type { DriverEvents, ProcessDriver, RawExit, SpawnPlan } from './driver.js';
import type { PipeChild } from './pipe-driver.js';

/** envd's pty chunk size. */
export const PTY_CHUNK_SIZE = 16 * 1024;
/** node-pty's name for the terminal type when the environment has none. */
const DEFAULT_TERM = 'xterm';
/**
 * After the command exits, output still in the terminal is read until the last replica closes;
 * descendants that keep it open stop being read after this long (node-pty's wait for its socket).
 */
const CLOSE_AFTER_EXIT_MS = 200;
/** Pause before writing again to a terminal whose input queue is full. */
const WRITE_RETRY_MS = 5;

/**
 * Starts a plan's command as its user on an opened terminal's replica (a path the user can open)
 * without forking the agent, or answers undefined (see SpawnerPool).
 */
export type DirectPtySpawn = (plan: SpawnPlan, replica: string) => Promise<{ child: PipeChild; pid: number } | undefined>;

/** What node-pty's native module offers besides its fork. */
interface PtyNative {
  open(cols: number, rows: number): { master: number; slave: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

let native: PtyNative | null | undefined;

/** node-pty's native module (external to the agent bundle), or undefined when it cannot be loaded. */
function ptyNative(): PtyNative | undefined {
  if (native === undefined) {
    try {
      const utils = createRequire(import.meta.url)('node-pty/lib/utils.js') as { loadNativeModule(name: string): { module: PtyNative } };
      native = utils.loadNativeModule('pty').module;
    } catch {
      native = null;
    }
  }
  return native ?? undefined;
}

/** The environment node-pty gives a terminal's command: PWD is the cwd, TERM defaults to xterm. */
export function terminalEnv(env: Record<string, string>, cwd: string): Record<string, string> {
  return { ...env, PWD: cwd, TERM: env['TERM'] || DEFAULT_TERM };
}

/**
 * Spawns a child on a new pseudo-terminal of the given size: through `direct` (a user's spawner,
 * no fork of the agent) when it takes the command, else forked by the agent (node-pty).
 */
export async function spawnPtyDriver(plan: SpawnPlan, size: { cols: number; rows: number }, events: DriverEvents, direct?: DirectPtySpawn): Promise<ProcessDriver> {
  const cols = Math.max(1, size.cols);
  const rows = Math.max(1, size.rows);
  const spawned = direct ? await spawnOnOpenedTerminal(plan, cols, rows, events, direct) : undefined;
  if (spawned) return spawned;
  const pty = spawn(plan.file, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    cols,
    rows,
    encoding: null,
    ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
    ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
  });
  placeUserTask(pty.pid);
  return new ForkedPtyDriver(pty, events);
}

/**
 * Opens a terminal in the agent (it keeps the master), lets the command's user open its replica
 * for as long as the spawner needs to (the replica's owner is put back once the command has it),
 * and has the spawner start the command on it.
 */
async function spawnOnOpenedTerminal(
  plan: SpawnPlan,
  cols: number,
  rows: number,
  events: DriverEvents,
  direct: DirectPtySpawn,
): Promise<ProcessDriver | undefined> {
  const pty = ptyNative();
  if (!pty) return undefined;
  let term: { master: number; slave: number; pty: string };
  try {
    term = pty.open(cols, rows);
  } catch {
    return undefined;
  }
  let started: { child: PipeChild; pid: number } | undefined;
  try {
    const owner = fstatSync(term.slave);
    const lend = owner.uid !== plan.user.uid;
    if (lend) fchownSync(term.slave, plan.user.uid, owner.gid);
    try {
      started = await direct({ ...plan, env: terminalEnv(plan.env, plan.cwd) }, term.pty);
    } finally {
      if (lend) fchownSync(term.slave, owner.uid, owner.gid);
    }
  } catch {
    started = undefined;
  } finally {
    // The command holds its own replica: the master sees EIO once the last one closes.
    closeSync(term.slave);
  }
  if (!started) {
    closeSync(term.master);
    return undefined;
  }
  return new OpenedPtyDriver(term.master, started.pid, started.child, pty, events);
}

/** A command a spawner started on a terminal whose master the agent holds. */
class OpenedPtyDriver implements ProcessDriver {
  readonly isPty = true;
  readonly startedBy = 'spawner';
  readonly timeline: Record<string, number> | undefined;
  private readonly stream: ReadStream;
  private exit: RawExit | undefined;
  private closed = false;
  private finished = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly queue: Array<{ buf: Buffer; off: number }> = [];
  private writing = false;

  constructor(
    private readonly master: number,
    readonly pid: number,
    child: PipeChild,
    private readonly pty: PtyNative,
    private readonly events: DriverEvents,
  ) {
    this.timeline = child.timeline;
    this.stream = new ReadStream(master);
    this.stream.on('data', (data: Buffer) => {
      for (const part of chunks(data, PTY_CHUNK_SIZE)) events.onOutput('pty', part);
    });
    // EIO: the last replica closed (as on Linux after the command and its descendants left).
    this.stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EAGAIN') this.onClosed();
    });
    this.stream.on('close', () => this.onClosed());
    child.on('error', () => undefined);
    child.once('exit', (code, signal) => {
      this.exit = { code, signal, exitedAt: performance.now() };
      if (this.closed) this.finish();
      else this.closeTimer = setTimeout(() => this.stream.destroy(), CLOSE_AFTER_EXIT_MS);
    });
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.destroy();
    this.queue.length = 0;
    if (this.exit) this.finish();
  }

  private finish(): void {
    if (this.finished || !this.exit) return;
    this.finished = true;
    clearTimeout(this.closeTimer);
    this.events.onExit(this.exit);
  }

  get stdinOpen(): boolean {
    return !this.exit;
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exit) signalIfAlive(this.pid, signal);
  }

  write(data: Uint8Array): Promise<void> {
    if (this.exit || this.closed) return Promise.reject(new Error('process has exited'));
    // Queued and answered at once, as node-pty does: a terminal nobody reads must not hold the caller.
    if (data.byteLength > 0) this.queue.push({ buf: Buffer.from(data), off: 0 });
    this.drainQueue();
    return Promise.resolve();
  }

  /** Writes queued input in order; the master is non-blocking, so a full terminal (EAGAIN) is retried. */
  private drainQueue(): void {
    if (this.writing || this.closed) return;
    const head = this.queue[0];
    if (!head) return;
    this.writing = true;
    write(this.master, head.buf, head.off, head.buf.length - head.off, null, (err, written) => {
      this.writing = false;
      if (this.closed) return;
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.drainQueue(), WRITE_RETRY_MS);
          return;
        }
        this.queue.length = 0;
        return;
      }
      head.off += written;
      if (head.off >= head.buf.length) this.queue.shift();
      this.drainQueue();
    });
  }

  closeStdin(): Promise<void> {
    return Promise.reject(new Error('cannot close stdin for PTY process — send Ctrl+D (0x04) instead'));
  }

  closeOutput(): void {
    // One terminal for both: nothing to close apart.
  }

  resize(cols: number, rows: number): void {
    if (this.exit || this.closed) throw new Error('process has exited');
    this.pty.resize(this.master, Math.max(1, cols), Math.max(1, rows));
  }
}

/** A child node-pty forked from the agent. */
class ForkedPtyDriver implements ProcessDriver {
  readonly isPty = true;
  readonly startedBy = 'agent';
  readonly pid: number;
  private exited = false;

  constructor(
    private readonly pty: IPty,
    events: DriverEvents,
  ) {
    this.pid = pty.pid;
    pty.onData((data: string | Buffer) => {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      for (const part of chunks(buf, PTY_CHUNK_SIZE)) events.onOutput('pty', part);
    });
    pty.onExit(({ exitCode, signal }) => {
      this.exited = true;
      events.onExit({ code: exitCode, signal: signal ? signal : null, exitedAt: performance.now() });
    });
  }

  get stdinOpen(): boolean {
    return !this.exited;
  }

  pause(): void {
    this.pty.pause();
  }

  resume(): void {
    this.pty.resume();
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exited) signalIfAlive(this.pid, signal);
  }

  write(data: Uint8Array): Promise<void> {
    if (this.exited) return Promise.reject(new Error('process has exited'));
    this.pty.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return Promise.resolve();
  }

  closeStdin(): Promise<void> {
    return Promise.reject(new Error('cannot close stdin for PTY process — send Ctrl+D (0x04) instead'));
  }

  closeOutput(): void {
    // One terminal for both: nothing to close apart.
  }

  resize(cols: number, rows: number): void {
    if (this.exited) throw new Error('process has exited');
    this.pty.resize(Math.max(1, cols), Math.max(1, rows));
  }
}
