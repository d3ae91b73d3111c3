import { spawn } from 'node-pty';
import type { IPty } from 'node-pty';
import { placeUserTask } from '../limits/pids-limit.js';
import { chunks } from './driver.js';
import type { DriverEvents, ProcessDriver, SpawnPlan } from './driver.js';

/** envd's pty chunk size. */
export const PTY_CHUNK_SIZE = 16 * 1024;

/** Spawns a child on a new pseudo-terminal of the given size. */
export function spawnPtyDriver(plan: SpawnPlan, size: { cols: number; rows: number }, events: DriverEvents): ProcessDriver {
  const pty = spawn(plan.file, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    cols: Math.max(1, size.cols),
    rows: Math.max(1, size.rows),
    encoding: null,
    ...(plan.uid !== undefined ? { uid: plan.uid } : {}),
    ...(plan.gid !== undefined ? { gid: plan.gid } : {}),
  });
  placeUserTask(pty.pid);
  return new PtyDriver(pty, events);
}

class PtyDriver implements ProcessDriver {
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
    if (this.exited) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
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
