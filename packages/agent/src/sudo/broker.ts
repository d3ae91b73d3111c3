/**
 * Root-side sudo broker.
 *
 * gVisor (the runsc we ship) ignores setuid bits, so `/usr/bin/sudo` cannot gain privileges inside a
 * sandbox. The template replaces it with a shim (`packages/agent/sudo/sudo`) that asks this broker,
 * which runs inside the root agent, to start the command as the target user and relays the command's
 * stdio, signals and exit status (wire format: `sudo-frames.ts` in @sandboxd/protocol).
 *
 * Who may ask: any process in the sandbox that can reach the socket (an abstract Unix socket by
 * default, which every process of the sandbox can connect to). There is no authentication on purpose:
 * the sandbox's only regular account, `user`, has `NOPASSWD: ALL` in /etc/sudoers.d/user, and
 * every other account is either root already or a system account that a root process (the only
 * thing that can create processes for it) could have run anything with anyway. So "any local process
 * may run commands as root" is exactly the privilege model the template already has; the security
 * boundary is the gVisor sandbox around all of it, not the accounts inside it.
 *
 * Division of labour: the shim implements sudo's command line and environment policy (env_reset,
 * -E, --preserve-env, -H, -i/-s shell wrapping, working directory); the broker resolves the target
 * account from /etc/passwd, looks the command up in the request's PATH, switches credentials
 * (`setpriv --init-groups` when available, for supplementary groups), and runs it on pipes or — when
 * the shim's stdin and stdout are terminals — on a new pseudo-terminal.
 */
import { spawn as spawnChild } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import type { IPty } from 'node-pty';
import type { Logger } from '../logger.js';
import {
  encodeSudoFrame as encodeFrame,
  encodeSudoJsonFrame as encodeJsonFrame,
  parseSudoRequest as parseRequest,
  SudoFrameDecoder as FrameDecoder,
  SudoFrameError as FrameError,
  SudoFrameType as FrameType,
  SUDO_STDIN_WINDOW as STDIN_WINDOW,
  SANDBOX_DEFAULT_PATH,
} from '@sandboxd/protocol';
import type { SudoFrame as Frame, SudoRequest } from '@sandboxd/protocol';
import { findSetpriv } from '../process/spawn-context.js';
import { asUser, lookPath } from '../process/spawn-plan.js';
import { parsePasswd } from '../users/user-db.js';
import { silentLogger } from '../logger.js';

/**
 * The socket the shim uses unless `SANDBOXD_SUDO_SOCKET` says otherwise. A filesystem path rather
 * than an abstract name: the directory is root's, so no other process can take the name first, and
 * Node 20's bundled libuv binds abstract names padded with NULs to the full sun_path length (which
 * clients then have to reproduce). /run/sandboxd itself is a read-only mount, hence the sibling.
 */
export const DEFAULT_SUDO_SOCKET = '/run/sandboxd-sudo/sudo.sock';
/** sudo's secure_path on Debian (the agent's default PATH): used when a request carries no PATH. */
export const SECURE_PATH = SANDBOX_DEFAULT_PATH;

const REQUEST_TIMEOUT_MS = 30_000;
/** How long output may still arrive after the command exited before the exit is reported. */
const EXIT_DRAIN_MS = 200;
const FORWARDED_SIGNALS = new Set([
  'SIGINT',
  'SIGTERM',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGCONT',
  'SIGSTOP',
  'SIGTSTP',
  'SIGWINCH',
  'SIGALRM',
  'SIGKILL',
]);

export interface SudoBrokerOptions {
  /**
   * Where to listen (default {@link DEFAULT_SUDO_SOCKET}): a filesystem path (its directory is
   * created 0755, the socket made 0666, a stale socket replaced), or `@name` / `\0name` for an
   * abstract Unix socket.
   */
  socketPath?: string;
  signal?: AbortSignal;
  logger?: Logger;
  /** /etc directory holding passwd (tests). */
  etcDir?: string;
  /** setpriv binary for switching users with supplementary groups; `null` disables it. Default: looked up. */
  setprivPath?: string | null;
}

export interface SudoBroker {
  /** The address actually listened on (abstract names with a leading NUL). */
  readonly address: string;
  close(): Promise<void>;
}

interface Account {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** `@name` → `\0name`; anything else unchanged. */
export function socketAddress(path: string): string {
  return path.startsWith('@') ? `\0${path.slice(1)}` : path;
}

export async function startSudoBroker(options: SudoBrokerOptions = {}): Promise<SudoBroker> {
  const address = socketAddress(options.socketPath ?? DEFAULT_SUDO_SOCKET);
  const abstract = address.startsWith('\0');
  const logger = (options.logger ?? silentLogger).child({ component: 'sudo-broker' });
  const etcDir = options.etcDir ?? '/etc';
  const setpriv = options.setprivPath === undefined ? await findSetpriv() : (options.setprivPath ?? undefined);
  const sessions = new Set<Session>();

  if (!abstract) {
    const dir = dirname(address);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(dir, 0o755).catch(() => undefined);
    const existing = await lstat(address).catch(() => undefined);
    if (existing?.isSocket()) await unlink(address);
  }

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const session = new Session(socket, { logger, etcDir, setpriv }, () => sessions.delete(session));
    sessions.add(session);
  });
  server.on('error', (err) => logger.error('sudo broker socket error', { err }));

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(address, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  if (!abstract) await chmod(address, 0o666);
  logger.info('sudo broker listening', { socket: abstract ? `@${address.slice(1)}` : address, setpriv: setpriv ?? null });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      options.signal?.removeEventListener('abort', onAbort);
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sessions) s.abort();
      await closed;
      if (!abstract) await unlink(address).catch(() => undefined);
    })();
    return closing;
  };
  const onAbort = (): void => void close();
  if (options.signal?.aborted) await close();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  return { address, close };
}

/** Target account from /etc/passwd; `#uid` may name an account that has no entry. */
export function lookupAccount(user: string, etcDir = '/etc'): Account | undefined {
  let accounts: ReturnType<typeof parsePasswd> = [];
  try {
    accounts = parsePasswd(readFileSync(join(etcDir, 'passwd'), 'utf8'));
  } catch {
    // no passwd: only #uid works
  }
  const byUid = user.startsWith('#') ? Number(user.slice(1)) : undefined;
  if (byUid !== undefined && (!Number.isInteger(byUid) || byUid < 0)) return undefined;
  const found = accounts.find((a) => (byUid !== undefined ? a.uid === byUid : a.name === user));
  if (found) return { name: found.name, uid: found.uid, gid: found.gid, home: found.home || '/' };
  return byUid !== undefined ? { name: '', uid: byUid, gid: byUid, home: '/' } : undefined;
}

interface SessionContext {
  logger: Logger;
  etcDir: string;
  setpriv: string | undefined;
}

/** What a started command looks like to the session, over pipes or a pty. */
interface Running {
  pid: number;
  writeStdin(data: Buffer, done: () => void): void;
  endStdin(): void;
  closeOutput(which: number): void;
  resize(cols: number, rows: number): void;
  kill(signal: NodeJS.Signals): void;
  pauseOutput(): void;
  resumeOutput(): void;
}

class SessionError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** One connection: one request, one command. */
class Session {
  private readonly decoder = new FrameDecoder();
  private request: SudoRequest | undefined;
  private running: Running | undefined;
  private exited = false;
  private closed = false;
  private starting = false;
  private readonly queued: Frame[] = [];
  private readonly timer: NodeJS.Timeout;
  private outputPaused = false;

  constructor(
    private readonly socket: Socket,
    private readonly ctx: SessionContext,
    private readonly onDone: () => void,
  ) {
    this.timer = setTimeout(() => {
      if (!this.request) this.fail(new SessionError('timed out waiting for the request'));
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      // The client half-closed: nothing more will come (stdin already ended with STDIN_EOF if at all).
    });
    socket.on('drain', () => {
      if (this.outputPaused) {
        this.outputPaused = false;
        this.running?.resumeOutput();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => this.onClose());
  }

  /** Broker shutdown: hang up the command and drop the client. */
  abort(): void {
    this.running?.kill('SIGHUP');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.fail(new SessionError(err instanceof Error ? err.message : String(err)));
      return;
    }
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Frame): void {
    if (!this.request) {
      if (frame.type !== FrameType.REQUEST) {
        this.fail(new SessionError('protocol error: expected a request first'));
        return;
      }
      try {
        this.request = parseRequest(frame.payload);
      } catch (err) {
        this.fail(new SessionError(err instanceof FrameError ? `bad request: ${err.message}` : String(err)));
        return;
      }
      clearTimeout(this.timer);
      this.starting = true;
      this.start(this.request).then(
        (running) => {
          this.starting = false;
          if (this.closed) {
            running.kill('SIGHUP');
            return;
          }
          this.running = running;
          this.send(encodeJsonFrame(FrameType.STARTED, { pid: running.pid }));
          this.send(creditFrame(STDIN_WINDOW));
          for (const f of this.queued.splice(0)) this.onFrame(f);
        },
        (err: unknown) => {
          this.starting = false;
          this.fail(err instanceof SessionError ? err : new SessionError(err instanceof Error ? err.message : String(err)));
        },
      );
      return;
    }
    if (this.starting) {
      this.queued.push(frame);
      return;
    }
    const running = this.running;
    if (!running) return;
    switch (frame.type) {
      case FrameType.STDIN: {
        const n = frame.payload.length;
        if (this.exited) this.send(creditFrame(n));
        else running.writeStdin(frame.payload, () => this.send(creditFrame(n)));
        break;
      }
      case FrameType.STDIN_EOF:
        running.endStdin();
        break;
      case FrameType.SIGNAL: {
        const name = frame.payload.toString('utf8');
        if (FORWARDED_SIGNALS.has(name) && !this.exited) running.kill(name as NodeJS.Signals);
        break;
      }
      case FrameType.RESIZE: {
        try {
          const size = JSON.parse(frame.payload.toString('utf8')) as { cols?: unknown; rows?: unknown };
          if (typeof size.cols === 'number' && typeof size.rows === 'number' && !this.exited) {
            running.resize(Math.max(1, Math.floor(size.cols)), Math.max(1, Math.floor(size.rows)));
          }
        } catch {
          // ignore a malformed resize
        }
        break;
      }
      case FrameType.CLOSE_OUT:
        running.closeOutput(frame.payload[0] ?? 0);
        break;
      default:
        break;
    }
  }

  private async start(req: SudoRequest): Promise<Running> {
    const account = lookupAccount(req.user, this.ctx.etcDir);
    if (!account) throw new SessionError(`unknown user ${req.user}`);
    const env = { ...req.env };
    if (env['PATH'] === undefined) env['PATH'] = SECURE_PATH;
    const cwdStat = await stat(req.cwd).catch(() => undefined);
    if (!cwdStat?.isDirectory()) throw new SessionError(`unable to change directory to ${req.cwd}: No such file or directory`);
    const argv0 = req.argv[0] ?? '';
    const executable = await lookPath(argv0, req.cwd, env['PATH'] ?? '');
    if (!executable) throw new SessionError(`${argv0}: command not found`);
    const args = req.argv.slice(1);

    // The same switch of user as every command of the agent: setpriv keeps supplementary groups.
    const { file, args: fileArgs, uid, gid } = asUser(executable, args, account, { agentUid: process.getuid?.() ?? 0, setprivPath: this.ctx.setpriv });
    const spawnCreds = uid !== undefined && gid !== undefined ? { uid, gid } : undefined;
    this.ctx.logger.info('sudo', { user: account.name || req.user, command: argv0, tty: req.tty });
    return req.tty
      ? this.startPty(file, fileArgs, req, env, spawnCreds)
      : this.startPipes(file, fileArgs, argv0, req, env, spawnCreds);
  }

  private startPipes(
    file: string,
    args: string[],
    argv0: string,
    req: SudoRequest,
    env: Record<string, string>,
    creds: { uid: number; gid: number } | undefined,
  ): Promise<Running> {
    return new Promise((resolvePromise, reject) => {
      const child: ChildProcess = spawnChild(file, args, {
        cwd: req.cwd,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        ...(file !== this.ctx.setpriv ? { argv0 } : {}),
        ...(creds ?? {}),
      });
      const stdin = child.stdin;
      const stdout = child.stdout;
      const stderr = child.stderr;
      if (!stdin || !stdout || !stderr) {
        reject(new SessionError('failed to create pipes'));
        return;
      }
      stdin.on('error', () => undefined);
      stdout.on('error', () => undefined);
      stderr.on('error', () => undefined);
      child.once('error', (err) => reject(new SessionError(`unable to execute ${file}: ${err.message}`)));
      child.once('spawn', () => {
        stdout.on('data', (d: Buffer) => this.output(FrameType.STDOUT, d));
        stderr.on('data', (d: Buffer) => this.output(FrameType.STDERR, d));
        // Report the exit once the output is drained, but do not wait for pipes that a daemonised
        // grandchild keeps open (real sudo waits for the command only).
        let drainTimer: NodeJS.Timeout | undefined;
        child.once('exit', (code, signal) => {
          drainTimer = setTimeout(() => this.onExit(code, signal), EXIT_DRAIN_MS);
        });
        child.once('close', (code, signal) => {
          clearTimeout(drainTimer);
          this.onExit(code, signal);
        });
        const pid = child.pid ?? 0;
        resolvePromise({
          pid,
          writeStdin: (data, done) => {
            if (stdin.destroyed || stdin.writableEnded) done();
            else stdin.write(data, () => done());
          },
          endStdin: () => {
            if (!stdin.destroyed) stdin.end();
          },
          closeOutput: (which) => {
            // The reader went away: real sudo's command would get SIGPIPE on its next write. Node's
            // stdio "pipes" are socketpairs, where closing with unread data makes the writer see
            // ECONNRESET instead, so deliver the SIGPIPE ourselves, then close.
            if (which !== 1 && which !== 2) return;
            try {
              process.kill(pid, 'SIGPIPE');
            } catch {
              // gone
            }
            (which === 1 ? stdout : stderr).destroy();
          },
          resize: () => undefined,
          kill: (signal) => {
            try {
              process.kill(pid, signal);
            } catch {
              // gone
            }
          },
          pauseOutput: () => {
            stdout.pause();
            stderr.pause();
          },
          resumeOutput: () => {
            stdout.resume();
            stderr.resume();
          },
        });
      });
    });
  }

  private startPty(
    file: string,
    args: string[],
    req: SudoRequest,
    env: Record<string, string>,
    creds: { uid: number; gid: number } | undefined,
  ): Promise<Running> {
    let pty: IPty;
    try {
      pty = spawnPty(file, args, {
        name: env['TERM'] || 'xterm',
        cwd: req.cwd,
        env,
        cols: req.cols ?? 80,
        rows: req.rows ?? 24,
        encoding: null,
        ...(creds ?? {}),
      });
    } catch (err) {
      return Promise.reject(new SessionError(`unable to execute ${file}: ${err instanceof Error ? err.message : String(err)}`));
    }
    pty.onData((d: string | Buffer) => this.output(FrameType.STDOUT, typeof d === 'string' ? Buffer.from(d) : d));
    pty.onExit(({ exitCode, signal }) => {
      const name = signal ? signalName(signal) : null;
      this.onExit(name ? null : exitCode, name);
    });
    const pid = pty.pid;
    return Promise.resolve({
      pid,
      writeStdin: (data, done) => {
        if (!this.exited) pty.write(data);
        done();
      },
      endStdin: () => undefined,
      closeOutput: () => undefined,
      resize: (cols, rows) => {
        try {
          pty.resize(cols, rows);
        } catch {
          // exited meanwhile
        }
      },
      kill: (signal) => {
        try {
          process.kill(pid, signal);
        } catch {
          // gone
        }
      },
      pauseOutput: () => pty.pause(),
      resumeOutput: () => pty.resume(),
    });
  }

  private output(type: number, data: Buffer): void {
    if (this.closed || data.length === 0) return;
    if (!this.socket.write(encodeFrame(type, data)) && !this.outputPaused) {
      this.outputPaused = true;
      this.running?.pauseOutput();
    }
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    const signo = signal ? (osConstants.signals[signal] ?? 0) : 0;
    this.send(encodeJsonFrame(FrameType.EXIT, { code: signal ? null : (code ?? 0), signal, signo }));
    this.socket.end();
  }

  private send(frame: Buffer): void {
    if (!this.closed && !this.socket.destroyed && this.socket.writable) this.socket.write(frame);
  }

  private fail(err: SessionError): void {
    clearTimeout(this.timer);
    this.ctx.logger.warn('sudo request failed', { error: err.message });
    this.send(encodeJsonFrame(FrameType.ERROR, { message: err.message, exitCode: err.exitCode }));
    this.socket.end();
    this.exited = true;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    if (this.running && !this.exited) this.running.kill('SIGHUP');
    if (this.running && !this.exited) this.running.endStdin();
    this.onDone();
  }
}

function creditFrame(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n, 0);
  return encodeFrame(FrameType.CREDIT, b);
}

function signalName(signo: number): NodeJS.Signals | null {
  for (const [name, n] of Object.entries(osConstants.signals)) if (n === signo) return name as NodeJS.Signals;
  return null;
}
