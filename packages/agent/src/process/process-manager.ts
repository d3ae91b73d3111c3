import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { Logger } from '../logger.js';
import type { UserInfo } from '../users/user-db.js';
import type { DriverEvents } from './driver.js';
import { ManagedProcess } from './managed-process.js';
import { OutputTail } from './output-tail.js';
import type { ProcessSpec } from './managed-process.js';
import { spawnPipeDriver } from './pipe-driver.js';
import type { DirectSpawn } from './pipe-driver.js';
import { spawnPtyDriver } from './pty-driver.js';
import type { DirectPtySpawn } from './pty-driver.js';
import { planSpawn } from './spawn-plan.js';
import type { SpawnContext } from './spawn-plan.js';

export interface StartOptions {
  pty?: { cols: number; rows: number } | undefined;
  /** Keep a stdin pipe open (ignored for a pty). */
  stdin: boolean;
  /** Kill the process after this long (envd: Connect-Timeout-Ms of Start). */
  lifetimeMs?: number | undefined;
}

/** Selects a process by pid or tag, as ProcessSelector does. */
export type Selector = { pid: number } | { tag: string };

export interface ProcessManagerOptions {
  spawn: SpawnContext;
  /** Starts piped commands without forking the agent when it can (see SpawnerPool). */
  direct?: DirectSpawn | undefined;
  /** The same for commands on a terminal. */
  directPty?: DirectPtySpawn | undefined;
  logger: Logger;
  /** How long an exited process stays reachable by Connect (replays its end). */
  retentionMs?: number;
  /** Log where each process's start-to-end time went (sandbox env SANDBOXD_AGENT_TRACE=1). */
  trace?: boolean;
}

/** Owns every child the agent started: start, lookup by pid/tag, listing, retention after exit. */
export class ProcessManager {
  private readonly running = new Map<number, ManagedProcess>();
  private readonly exited = new Map<number, { proc: ManagedProcess; timer: NodeJS.Timeout }>();
  private readonly retentionMs: number;

  constructor(private readonly options: ProcessManagerOptions) {
    this.retentionMs = options.retentionMs ?? 30_000;
  }

  async start(spec: ProcessSpec, user: UserInfo, opts: StartOptions): Promise<ManagedProcess> {
    const t0 = performance.now();
    const plan = await planSpawn(spec, user, this.options.spawn);
    const tPlanned = performance.now();
    let tExited: number | undefined;
    const proc = new ManagedProcess(spec);
    // What a failed process last said goes into the sandbox's log, for whoever debugs it.
    const errorTail = new OutputTail();
    const startedAt = Date.now();
    const events: DriverEvents = {
      onOutput: (kind, data) => {
        if (kind !== 'stdout') errorTail.push(data);
        proc.handleOutput(kind, data);
      },
      onExit: (exit) => {
        tExited = exit.exitedAt;
        proc.handleExit(exit);
      },
    };
    const userCmd = [spec.cmd, ...spec.args].join(' ');
    let tSpawned = tPlanned;
    let startedBy = 'agent';
    let timeline: Record<string, number> | undefined;
    try {
      const driver = opts.pty
        ? await spawnPtyDriver(plan, opts.pty, events, this.options.directPty)
        : await spawnPipeDriver(plan, opts.stdin, events, this.options.direct);
      proc.attach(driver, opts.lifetimeMs);
      tSpawned = performance.now();
      startedBy = driver.startedBy;
      timeline = driver.timeline;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `error starting process '${userCmd}': ${reason}`, { cause: err });
    }
    const pid = proc.pid;
    this.forgetExited(pid);
    this.running.set(pid, proc);
    this.options.logger.info('process started', { pid, cmd: userCmd, user: user.name, cwd: spec.cwd, tag: spec.tag, pty: !!opts.pty });
    proc.onEnd(() => {
      if (this.running.get(pid) === proc) this.running.delete(pid);
      this.forgetExited(pid);
      const timer = setTimeout(() => this.forgetExited(pid), this.retentionMs);
      timer.unref();
      this.exited.set(pid, { proc, timer });
      const ended = {
        pid,
        cmd: userCmd,
        ...proc.exit,
        timedOut: proc.timedOut,
        durationMs: Date.now() - startedAt,
        ...(this.options.trace ? { trace: traceOf(t0, tPlanned, tSpawned, tExited, `${startedBy}:${plan.command.file}`, timeline) } : {}),
      };
      if (proc.exit?.exitCode === 0) this.options.logger.info('process ended', ended);
      else this.options.logger.warn('process failed', { ...ended, outputTail: errorTail.text() });
    });
    return proc;
  }

  private forgetExited(pid: number): void {
    const entry = this.exited.get(pid);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.exited.delete(pid);
  }

  /** Running processes only. */
  list(): ManagedProcess[] {
    return [...this.running.values()];
  }

  /**
   * The process a selector names; exited ones (within retention) only when `includeExited`.
   * Unknown → NOT_FOUND with envd's message.
   */
  get(selector: Selector, includeExited = false): ManagedProcess {
    const pools = includeExited ? [this.running, new Map([...this.exited].map(([k, v]) => [k, v.proc]))] : [this.running];
    for (const pool of pools) {
      if ('pid' in selector) {
        const p = pool.get(selector.pid);
        if (p) return p;
      } else {
        for (const p of pool.values()) if (p.spec.tag === selector.tag) return p;
      }
    }
    throw new SandboxdError(
      ErrorCode.NOT_FOUND,
      'pid' in selector ? `process with pid ${selector.pid} not found` : `process with tag ${selector.tag} not found`,
    );
  }

  /** Signals every running process (shutdown). */
  signalAll(signal: NodeJS.Signals): void {
    for (const p of this.running.values()) p.signal(signal);
  }
}

/** Milliseconds per phase of one process: planning (cwd, lookup, login env), spawn call, run until exit, output drain. */
function traceOf(
  t0: number,
  planned: number,
  spawned: number,
  exited: number | undefined,
  file: string,
  timeline: Record<string, number> | undefined,
): Record<string, number | string> {
  const now = performance.now();
  const ms = (x: number): number => Math.round(x * 100) / 100;
  // A spawner's steps, as ms since the request arrived (pythonSpawnUs: its own time, request line to posix_spawn's return).
  const steps: Record<string, number> = {};
  for (const [name, at] of Object.entries(timeline ?? {})) steps[name.endsWith('Us') ? name : `${name}At`] = name.endsWith('Us') ? at : ms(at - t0);
  return {
    ...steps,
    file,
    planMs: ms(planned - t0),
    spawnMs: ms(spawned - planned),
    runMs: ms((exited ?? now) - spawned),
    drainMs: ms(now - (exited ?? now)),
    totalMs: ms(now - t0),
  };
}
