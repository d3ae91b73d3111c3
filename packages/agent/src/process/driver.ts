import type { UserInfo } from '../users/user-db.js';

/** Which stream a chunk of process output came from. */
export type OutputKind = 'stdout' | 'stderr' | 'pty';

/** How a child ended, before translation to envd's end event. */
export interface RawExit {
  code: number | null;
  signal: NodeJS.Signals | number | null;
  /** performance.now() when the child's exit was seen (output may have been drained after it). */
  exitedAt?: number;
}

/** Callbacks a driver reports to; `onExit` fires once, after the output has been drained. */
export interface DriverEvents {
  onOutput(kind: OutputKind, chunk: Uint8Array): void;
  onExit(exit: RawExit): void;
}

/** A running child, over pipes or over a pseudo-terminal. */
export interface ProcessDriver {
  readonly pid: number;
  readonly isPty: boolean;
  /** How it was started: forked by the agent, or by a user's spawner (see SpawnerPool). */
  readonly startedBy: 'agent' | 'spawner';
  /** performance.now() of the steps of a spawner's start and exit report, by name (the trace). */
  readonly timeline?: Record<string, number>;
  pause(): void;
  resume(): void;
  kill(signal: NodeJS.Signals): void;
  /** Writes to stdin (pipes) or to the terminal (pty). */
  write(data: Uint8Array): Promise<void>;
  /** Closes stdin (pipes only). */
  closeStdin(): Promise<void>;
  /**
   * The reader of stdout or stderr went away (pipes only; a no-op on a pty): the child gets
   * SIGPIPE, as a real pipe's writer would on its next write, and that output is closed.
   */
  closeOutput(kind: 'stdout' | 'stderr'): void;
  /** Whether stdin is writable (always true for a pty while it runs). */
  readonly stdinOpen: boolean;
  resize(cols: number, rows: number): void;
}

/** What to execute: already resolved to a program, arguments, environment and credentials. */
export interface SpawnPlan {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** The command itself and whom it runs as, before any wrapper (`file`/`args` may be setpriv's). */
  command: { file: string; args: string[] };
  user: UserInfo;
  /** Set when the switch of user is left to the spawn call instead of a wrapper. */
  uid?: number | undefined;
  gid?: number | undefined;
  /** argv[0] as the caller typed it, when `file` is the command itself (pipes only). */
  argv0?: string | undefined;
  /** Its own session and process group (pipes only): the sudo broker's commands. */
  detached?: boolean | undefined;
}

/** Splits a buffer into views of at most `max` bytes (envd's chunk limits). */
export function* chunks(buf: Uint8Array, max: number): Generator<Uint8Array> {
  for (let off = 0; off < buf.length; off += max) yield buf.subarray(off, Math.min(off + max, buf.length));
}

/** Sends `signal` to `pid`; a process that is already gone is not an error. */
export function signalIfAlive(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
