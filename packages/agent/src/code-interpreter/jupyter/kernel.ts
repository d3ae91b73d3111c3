/** One running kernel process and its ZeroMQ client. */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chown, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { holdAgentPorts } from '../../lib/agent-ports.js';
import { placeUserTask } from '../../limits/pids-limit.js';
import type { UserInfo } from '../user.js';
import { KernelClient, type WaitOptions } from './client.js';
import { createConnectionInfo, createIpcConnectionInfo, writeConnectionFile, type ConnectionInfo } from './connection.js';
import { kernelTransport, resolveKernelSpec, type KernelSpec } from './kernelspec.js';

export interface KernelStartOptions extends WaitOptions {
  /** Kernelspec name under `python/kernels/`. */
  spec: string;
  cwd: string;
  /** Complete environment of the kernel process (the spec's own env is added on top). */
  env: Record<string, string>;
  user: UserInfo;
  /** Writable directory for connection files. */
  runtimeDir: string;
  /** Mirror the kernel's stdout/stderr to the agent's stderr. */
  debug?: boolean;
}

export interface KernelExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_TAIL = 4096;

export class Kernel {
  /** Resolves when the process has exited, for whatever reason. */
  readonly exited: Promise<KernelExit>;
  private exitInfo: KernelExit | undefined;
  private stderr = '';
  private paused = false;

  private constructor(
    readonly spec: KernelSpec,
    readonly client: KernelClient,
    private readonly child: ChildProcess,
    private readonly connectionFile: string,
    debug: boolean,
  ) {
    // A client that reads output slower than the kernel prints it: the kernel's process group is
    // stopped until the client catches up, so memory stays bounded and nothing is dropped.
    client.onIopubHeld = (held) => {
      this.paused = held;
      if (this.alive) this.signalGroup(held ? 'SIGSTOP' : 'SIGCONT');
    };
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        client.close();
        void rm(connectionFile, { force: true });
        if (client.transport === 'ipc') void rm(dirname(client.ipcPrefix), { recursive: true, force: true });
        resolve(this.exitInfo);
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-STDERR_TAIL);
      if (debug) process.stderr.write(chunk);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (debug) process.stderr.write(chunk);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True while the kernel is stopped because a client reads its output slowly. */
  get pausedForOutput(): boolean {
    return this.paused;
  }

  get alive(): boolean {
    return this.exitInfo === undefined;
  }

  /** Last few KiB the kernel wrote to stderr (for error messages). */
  get stderrTail(): string {
    return this.stderr;
  }

  static async start(options: KernelStartOptions): Promise<Kernel> {
    const id = randomUUID();
    const owner = options.user.uid !== undefined ? { uid: options.user.uid, gid: options.user.gid ?? options.user.uid } : undefined;
    let info: ConnectionInfo;
    if ((await kernelTransport(options.spec)) === 'ipc') {
      // The kernel creates its sockets, so they live in a directory of its own user's.
      const socketDir = join(options.runtimeDir, `sockets-${id}`);
      await mkdir(socketDir, { mode: 0o700 });
      if (owner) await chown(socketDir, owner.uid, owner.gid);
      info = createIpcConnectionInfo(options.spec, join(socketDir, 'kernel'));
    } else {
      info = await createConnectionInfo(options.spec);
    }
    const file = await writeConnectionFile(options.runtimeDir, id, info, owner);
    const spec = await resolveKernelSpec(options.spec, file);
    const [command, ...args] = spec.argv;
    const child = spawn(command!, args, {
      cwd: options.cwd,
      env: { ...options.env, ...spec.env },
      uid: options.user.uid,
      gid: options.user.gid,
      detached: true, // own process group: interrupts and kills reach the kernel's children too
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    placeUserTask(child.pid);
    const kernel = new Kernel(spec, new KernelClient(info), child, file, options.debug === true);
    // Its ZeroMQ ports are the agent's: never forwarded from the daemon's proxy.
    if (info.transport === 'tcp') {
      const release = holdAgentPorts([info.shell_port, info.iopub_port, info.stdin_port, info.control_port, info.hb_port]);
      void kernel.exited.then(release);
    }
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      void kernel.exited.then((exit) =>
        reject(new Error(`kernel ${options.spec} exited during startup (${describeExit(exit)}): ${kernel.stderrTail.trim().slice(-800)}`)),
      );
    });
    failed.catch(() => undefined);
    try {
      await Promise.race([kernel.client.waitReady({ signal: options.signal, timeoutMs: options.timeoutMs }), failed]);
    } catch (error) {
      await kernel.kill();
      throw error;
    }
    return kernel;
  }

  /** Interrupts the running cell (SIGINT to the process group, or `interrupt_request`). */
  async interrupt(): Promise<void> {
    if (!this.alive) return;
    if (this.spec.interruptMode === 'message') {
      await this.client.send('control', 'interrupt_request', {});
      return;
    }
    this.signalGroup('SIGINT');
  }

  /** Kills the process group and waits for the kernel process to exit. */
  async kill(): Promise<KernelExit> {
    if (this.alive) this.signalGroup('SIGKILL');
    return await this.exited;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }
}

export function describeExit(exit: KernelExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return `exit code ${exit.code ?? 'unknown'}`;
}
