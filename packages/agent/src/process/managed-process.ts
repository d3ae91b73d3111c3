import { EventChannel } from '../lib/event-channel.js';
import type { OutputKind, ProcessDriver, RawExit } from './driver.js';
import { exitInfo } from './exit-status.js';
import type { ExitInfo } from './exit-status.js';

/** What a process was started with, as `List` reports it. */
export interface ProcessSpec {
  cmd: string;
  args: string[];
  envs: Record<string, string>;
  cwd?: string | undefined;
  tag?: string | undefined;
}

/** An event on a process subscription. */
export type ProcessStreamItem = { type: 'data'; kind: OutputKind; data: Uint8Array } | { type: 'end'; exit: ExitInfo };

/** A consumer of a process's events; `close()` when done reading. */
export interface ProcessSubscription {
  readonly channel: EventChannel<ProcessStreamItem>;
  close(): void;
}

/** Queue length at which the child's output is paused until consumers catch up. */
const HIGH_WATER = 128;
const LOW_WATER = 16;

/**
 * A child process owned by the agent. Output goes to the current subscribers only (a late
 * subscriber sees new output); the end event goes to everyone, including later subscribers.
 * Outlives any client stream: only its exit, a signal or its lifetime limit ends it.
 */
export class ManagedProcess {
  exit: ExitInfo | undefined;
  /** True when the lifetime limit (Connect-Timeout-Ms on Start) killed the process. */
  timedOut = false;
  private driver: ProcessDriver | undefined;
  private readonly subscribers = new Set<EventChannel<ProcessStreamItem>>();
  private readonly endListeners: Array<() => void> = [];
  private paused = false;
  private lifetimeTimer: NodeJS.Timeout | undefined;

  constructor(readonly spec: ProcessSpec) {}

  /** Binds the running driver; must be called once, right after spawning. */
  attach(driver: ProcessDriver, lifetimeMs: number | undefined): void {
    this.driver = driver;
    if (lifetimeMs !== undefined && lifetimeMs > 0) {
      this.lifetimeTimer = setTimeout(() => {
        this.timedOut = true;
        driver.kill('SIGKILL');
      }, lifetimeMs);
    }
  }

  get pid(): number {
    return this.running.pid;
  }

  get isPty(): boolean {
    return this.running.isPty;
  }

  get stdinOpen(): boolean {
    return this.running.stdinOpen;
  }

  private get running(): ProcessDriver {
    if (!this.driver) throw new Error('process not started');
    return this.driver;
  }

  /** Driver callback: a chunk of output. */
  handleOutput(kind: OutputKind, data: Uint8Array): void {
    for (const sub of this.subscribers) sub.push({ type: 'data', kind, data });
    if (!this.paused && [...this.subscribers].some((s) => s.size >= HIGH_WATER)) {
      this.paused = true;
      this.driver?.pause();
    }
  }

  /** Driver callback: the process ended and its output was drained. */
  handleExit(raw: RawExit): void {
    if (this.lifetimeTimer) clearTimeout(this.lifetimeTimer);
    this.exit = exitInfo(raw.code, raw.signal);
    for (const sub of this.subscribers) {
      sub.push({ type: 'end', exit: this.exit });
      sub.close();
    }
    for (const listener of this.endListeners.splice(0)) listener();
  }

  onEnd(listener: () => void): void {
    if (this.exit) listener();
    else this.endListeners.push(listener);
  }

  subscribe(): ProcessSubscription {
    const channel: EventChannel<ProcessStreamItem> = new EventChannel({ onTake: () => this.maybeResume() });
    if (this.exit) {
      channel.push({ type: 'end', exit: this.exit });
      channel.close();
    } else {
      this.subscribers.add(channel);
    }
    return {
      channel,
      close: () => {
        this.subscribers.delete(channel);
        channel.close();
        this.maybeResume();
      },
    };
  }

  private maybeResume(): void {
    if (!this.paused) return;
    for (const s of this.subscribers) if (s.size > LOW_WATER) return;
    this.paused = false;
    this.driver?.resume();
  }

  signal(signal: NodeJS.Signals): void {
    this.running.kill(signal);
  }

  write(data: Uint8Array): Promise<void> {
    return this.running.write(data);
  }

  closeStdin(): Promise<void> {
    return this.running.closeStdin();
  }

  resize(cols: number, rows: number): void {
    this.running.resize(cols, rows);
  }
}
