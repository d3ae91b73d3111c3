import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SANDBOX_DEFAULT_PATH } from '@sandboxd/protocol';
import { placeUserTask } from '../limits/pids-limit.js';
import type { Logger } from '../logger.js';
import type { UserInfo } from '../users/user-db.js';
import type { PipeChild } from './pipe-driver.js';
import { asUser } from './spawn-plan.js';
import type { SpawnContext } from './spawn-plan.js';

/** The system Python the spawner runs on (the template's; absent: every command is forked by the agent). */
export const SPAWNER_PYTHON = '/usr/bin/python3';
const SCRIPT_NAME = 'sandboxd_spawner.py';
const TOKEN_BYTES = 16;
const HEADER_BYTES = TOKEN_BYTES + 5;
/** A spawner with no command running for this long ends (the next command starts a new one). */
export const SPAWNER_IDLE_MS = 30_000;
/** How often the commands of a spawner that died are checked for having ended. */
const ORPHAN_POLL_MS = 250;

/** `packages/agent/python/sandboxd_spawner.py`, found from `src/…`, `dist/…` and the bundle. */
export function spawnerScript(start = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'python', SCRIPT_NAME);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** What to start through a spawner: already resolved, run as `user`. */
export interface SpawnerRequest {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  stdin: boolean;
  /**
   * A terminal's replica (`/dev/pts/N`) the spawner can open as the user: the command runs in its
   * own session with it as fds 0-2 and controlling terminal (no stdio sockets; `stdin` ignored).
   */
  pty?: string | undefined;
}

type Reply = { id: number; pid: number; spawnUs?: number } | { id: number; error: string; message: string } | { exit: number; code: number | null; signal: number | null } | { ready: true };

/**
 * A command a spawner started: stdio sockets (none on a terminal) and its exit, shaped as
 * PipeDriver reads a ChildProcess.
 */
class SpawnedChild extends EventEmitter implements PipeChild {
  constructor(
    readonly pid: number,
    readonly stdin: Socket | null,
    readonly stdout: Socket | null,
    readonly stderr: Socket | null,
    readonly timeline: Record<string, number>,
  ) {
    super();
  }
}

interface Pending {
  /** The stdio connections it waits for (fd numbers). */
  fds: number[];
  sockets: Map<number, Socket>;
  timeline: Record<string, number>;
  pid?: number;
  failed?: boolean;
  resolve(child: SpawnedChild | undefined): void;
}

/** One long-running spawner process of one user. */
class UserSpawner {
  ready = false;
  retired = false;
  /** Resolves once it takes requests (true) or is gone before that (false). */
  readonly started: Promise<boolean>;
  private markStarted: (ok: boolean) => void = () => undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly running = new Map<number, SpawnedChild>();
  private readonly earlyExits = new Map<number, { code: number | null; signal: number | null }>();
  private buffered = '';
  private dead = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly proc: ChildProcess,
    private readonly logger: Logger,
    private readonly onRetire: () => void,
  ) {
    const since = performance.now();
    this.started = new Promise((resolve) => (this.markStarted = resolve));
    void this.started.then((ok) => {
      if (ok) this.logger.info('spawner ready', { ms: Math.round(performance.now() - since) });
    });
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (text: string) => this.onData(text));
    proc.stdin?.on('error', () => undefined);
    proc.on('error', (err) => this.die(err.message));
    proc.once('exit', (code, signal) => this.die(`exited (${signal ?? code})`));
    this.armIdle();
  }

  /** Ends the spawner after SPAWNER_IDLE_MS without commands (it must not outlive its use: userdel, ps). */
  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (!this.idle) return;
    this.idleTimer = setTimeout(() => this.retire(), SPAWNER_IDLE_MS);
    this.idleTimer.unref();
  }

  get idle(): boolean {
    return this.running.size === 0 && this.pending.size === 0;
  }

  /** Starts a command as request `id` (unique across spawners): undefined when it could not. */
  spawn(id: number, req: SpawnerRequest): Promise<SpawnedChild | undefined> {
    if (this.dead || !this.ready || this.retired) return Promise.resolve(undefined);
    clearTimeout(this.idleTimer);
    return new Promise((resolve) => {
      const fds = req.pty !== undefined ? [] : req.stdin ? [0, 1, 2] : [1, 2];
      this.pending.set(id, { fds, sockets: new Map(), timeline: { requested: performance.now() }, resolve });
      const base = { id, file: req.file, argv: [req.file, ...req.args], env: req.env, cwd: req.cwd };
      const line = JSON.stringify(req.pty !== undefined ? { ...base, pty: req.pty } : { ...base, stdin: req.stdin });
      this.proc.stdin?.write(`${line}\n`);
    });
  }

  /** A stdio connection of request `id` arrived on the agent's socket. */
  attach(id: number, fd: number, socket: Socket): void {
    const p = this.pending.get(id);
    if (!p || p.sockets.has(fd) || !p.fds.includes(fd)) {
      socket.destroy();
      return;
    }
    p.sockets.set(fd, socket);
    p.timeline[`fd${fd}`] = performance.now();
    this.settle(id, p);
  }

  private settle(id: number, p: Pending): void {
    if (p.failed) {
      this.pending.delete(id);
      for (const s of p.sockets.values()) s.destroy();
      p.resolve(undefined);
      this.armIdle();
      return;
    }
    if (p.pid === undefined || p.fds.some((fd) => !p.sockets.has(fd))) return;
    this.pending.delete(id);
    const child = new SpawnedChild(p.pid, p.sockets.get(0) ?? null, p.sockets.get(1) ?? null, p.sockets.get(2) ?? null, p.timeline);
    this.running.set(p.pid, child);
    p.resolve(child);
    const early = this.earlyExits.get(p.pid);
    if (early) {
      this.earlyExits.delete(p.pid);
      this.exited(p.pid, early.code, early.signal);
    }
  }

  private onData(text: string): void {
    this.buffered += text;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      let reply: Reply;
      try {
        reply = JSON.parse(line) as Reply;
      } catch {
        continue;
      }
      this.onReply(reply);
    }
  }

  private onReply(reply: Reply): void {
    if ('ready' in reply) {
      this.ready = true;
      this.markStarted(true);
      return;
    }
    if ('exit' in reply) {
      if (this.running.has(reply.exit)) this.exited(reply.exit, reply.code, reply.signal);
      else this.earlyExits.set(reply.exit, { code: reply.code, signal: reply.signal });
      return;
    }
    const p = this.pending.get(reply.id);
    if (!p) return;
    if ('error' in reply) {
      this.logger.warn('spawner could not start a command; the agent starts it', { error: reply.error, message: reply.message });
      p.failed = true;
    } else {
      p.pid = reply.pid;
      p.timeline['pid'] = performance.now();
      if (reply.spawnUs !== undefined) p.timeline['pythonSpawnUs'] = reply.spawnUs;
    }
    this.settle(reply.id, p);
  }

  private exited(pid: number, code: number | null, signo: number | null): void {
    const child = this.running.get(pid);
    if (!child) return;
    this.running.delete(pid);
    child.timeline['exitReported'] = performance.now();
    // The same chunk of replies may have started it: let its reader attach first.
    setImmediate(() => child.emit('exit', signo === null ? code : null, signo === null ? null : signalName(signo)));
    if (this.retired && this.idle) this.close();
    else this.armIdle();
  }

  retire(): void {
    this.retired = true;
    this.onRetire();
    if (this.idle) this.close();
  }

  close(): void {
    this.proc.stdin?.end();
  }

  private die(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.markStarted(false);
    clearTimeout(this.idleTimer);
    if (!this.retired) this.logger.warn('spawner ended', { reason, running: this.running.size });
    this.retired = true;
    this.onRetire();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      for (const s of p.sockets.values()) s.destroy();
      p.resolve(undefined);
    }
    // Its commands run on as orphans (PID 1 reaps them, their status is lost): report each one's
    // end once it is gone, as killed.
    if (this.running.size === 0) return;
    const poll = setInterval(() => {
      for (const [pid, child] of this.running) {
        try {
          process.kill(pid, 0);
        } catch {
          this.running.delete(pid);
          child.emit('exit', null, 'SIGKILL');
        }
      }
      if (this.running.size === 0) clearInterval(poll);
    }, ORPHAN_POLL_MS);
  }
}

function signalName(signo: number): NodeJS.Signals | null {
  for (const [name, n] of Object.entries(osConstants.signals)) if (n === signo) return name as NodeJS.Signals;
  return null;
}

export interface SpawnerPoolOptions {
  ctx: Pick<SpawnContext, 'agentUid' | 'setprivPath'>;
  logger: Logger;
  /** Directory of the agent's stdio socket (default /run/sandboxd-spawn). */
  socketDir?: string;
  python?: string;
  script?: string;
  /** Directory holding group (tests): spawners are replaced when it changes. */
  etcDir?: string;
}

/**
 * Starts users' commands over pipes without forking the agent: one spawner process per user
 * (`python/sandboxd_spawner.py`, started once through the usual switch of user, so it holds the
 * user's uid, gid and supplementary groups, in the users' pids group), which starts each command
 * with posix_spawn, its stdio connected to the agent's Unix socket. `spawn` answers undefined
 * whenever a spawner cannot start a command (none yet, not ready, an error): the caller then
 * forks as before.
 */
export class SpawnerPool {
  private readonly spawners = new Map<string, UserSpawner>();
  /** Which spawner each request in flight went to (its stdio connections name the request). */
  private readonly requests = new Map<number, UserSpawner>();
  private nextId = 1;
  private readonly token = randomBytes(TOKEN_BYTES);
  private server: Server | undefined;
  private socketPath = '';
  private groupWatcher: FSWatcher | undefined;
  private closed = false;

  private constructor(
    private readonly options: SpawnerPoolOptions,
    private readonly python: string,
    private readonly script: string,
  ) {}

  /** A pool, or undefined when this image has no Python or no spawner script. */
  static async create(options: SpawnerPoolOptions): Promise<SpawnerPool | undefined> {
    const python = options.python ?? SPAWNER_PYTHON;
    const script = options.script ?? spawnerScript();
    if (!script || !existsSync(python)) return undefined;
    const pool = new SpawnerPool(options, python, script);
    try {
      await pool.listen();
    } catch (err) {
      options.logger.warn('spawner socket unavailable; commands are forked by the agent', { err });
      return undefined;
    }
    return pool;
  }

  private async listen(): Promise<void> {
    const dir = this.options.socketDir ?? '/run/sandboxd-spawn';
    await mkdir(dir, { recursive: true, mode: 0o755 });
    this.socketPath = join(dir, `agent-${process.pid}.sock`);
    await rm(this.socketPath, { force: true });
    const server = createServer({ allowHalfOpen: false }, (socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.logger.error('spawner socket error', { err }));
    await chmod(this.socketPath, 0o666);
    this.server = server;
    try {
      this.groupWatcher = watch(this.options.etcDir ?? '/etc', { persistent: false }, (_e, name) => {
        if (name === null || name.toString() === 'group') this.retireAll();
      });
    } catch {
      // no /etc to watch: group changes are not noticed
    }
  }

  private onConnection(socket: Socket): void {
    let head = Buffer.alloc(0);
    socket.on('error', () => undefined);
    const onHeader = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      if (head.length < HEADER_BYTES) return;
      socket.off('data', onHeader);
      socket.pause();
      const rest = head.subarray(HEADER_BYTES);
      if (rest.length > 0) socket.unshift(rest);
      if (!head.subarray(0, TOKEN_BYTES).equals(this.token)) {
        socket.destroy();
        return;
      }
      const id = head.readUInt32BE(TOKEN_BYTES);
      const fd = head.readUInt8(TOKEN_BYTES + 4);
      const owner = this.requests.get(id);
      if (owner) owner.attach(id, fd, socket);
      else socket.destroy();
    };
    socket.on('data', onHeader);
  }

  /** Starts the spawner of `user` unless it runs; resolves once it takes commands (false: it could not start). */
  warm(user: UserInfo): Promise<boolean> {
    const key = `${user.uid}:${user.gid}:${user.name}`;
    if (this.closed) return Promise.resolve(false);
    return (this.spawners.get(key) ?? this.startSpawner(user, key)).started;
  }

  /** Starts a command as `user` through its spawner, or undefined (then the caller forks). */
  async spawn(user: UserInfo, req: SpawnerRequest): Promise<{ child: PipeChild; pid: number } | undefined> {
    if (this.closed) return undefined;
    const key = `${user.uid}:${user.gid}:${user.name}`;
    const spawner = this.spawners.get(key);
    if (!spawner) {
      this.startSpawner(user, key);
      return undefined;
    }
    const id = this.nextId++;
    this.requests.set(id, spawner);
    try {
      const child = await spawner.spawn(id, req);
      return child && { child, pid: child.pid };
    } finally {
      this.requests.delete(id);
    }
  }

  private startSpawner(user: UserInfo, key: string): UserSpawner {
    const creds = asUser(this.python, ['-I', '-S', this.script, this.socketPath], user, this.options.ctx);
    const proc = spawn(creds.file, creds.args, {
      cwd: '/',
      // Not in argv, which every process of the sandbox can read.
      env: { PATH: SANDBOX_DEFAULT_PATH, LANG: 'C.UTF-8', SANDBOXD_SPAWNER_TOKEN: this.token.toString('hex') },
      uid: creds.uid,
      gid: creds.gid,
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    placeUserTask(proc.pid);
    const spawner: UserSpawner = new UserSpawner(proc, this.options.logger.child({ spawner: user.name }), () => {
      if (this.spawners.get(key) === spawner) this.spawners.delete(key);
    });
    this.spawners.set(key, spawner);
    return spawner;
  }

  /** /etc/group changed: spawners hold the old groups; new ones start on the next commands. */
  private retireAll(): void {
    for (const s of [...this.spawners.values()]) s.retire();
  }

  close(): void {
    this.closed = true;
    this.groupWatcher?.close();
    this.retireAll();
    this.server?.close();
    void rm(this.socketPath, { force: true });
  }
}
