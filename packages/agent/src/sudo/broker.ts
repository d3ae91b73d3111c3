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
import { readFileSync } from 'node:fs';
import { chmod, lstat, mkdir, stat, unlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
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
import type { DriverEvents, ProcessDriver, SpawnPlan } from '../process/driver.js';
import { spawnPipeDriver } from '../process/pipe-driver.js';
import { spawnPtyDriver } from '../process/pty-driver.js';
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
  private running: ProcessDriver | undefined;
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
        this.running?.resume();
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
        const credit = (): void => this.send(creditFrame(n));
        // Credit comes back once the bytes are written (or dropped: stdin closed, a pty's exit).
        if (this.exited || !running.stdinOpen) credit();
        else void running.write(frame.payload).then(credit, credit);
        break;
      }
      case FrameType.STDIN_EOF:
        // A pty has no stdin to close: the shim sends ^D itself.
        if (!running.isPty) void running.closeStdin();
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
            if (running.isPty) running.resize(Math.max(1, Math.floor(size.cols)), Math.max(1, Math.floor(size.rows)));
          }
        } catch {
          // ignore a malformed resize
        }
        break;
      }
      case FrameType.CLOSE_OUT: {
        // The shim's reader of stdout (1) or stderr (2) went away.
        const which = frame.payload[0] ?? 0;
        if (which === 1 || which === 2) running.closeOutput(which === 1 ? 'stdout' : 'stderr');
        break;
      }
      default:
        break;
    }
  }

  private async start(req: SudoRequest): Promise<ProcessDriver> {
    const account = lookupAccount(req.user, this.ctx.etcDir);
    if (!account) throw new SessionError(`unknown user ${req.user}`);
    const env = { ...req.env };
    if (env['PATH'] === undefined) env['PATH'] = SECURE_PATH;
    const cwdStat = await stat(req.cwd).catch(() => undefined);
    if (!cwdStat?.isDirectory()) throw new SessionError(`unable to change directory to ${req.cwd}: No such file or directory`);
    const argv0 = req.argv[0] ?? '';
    const executable = lookPath(argv0, req.cwd, env['PATH'] ?? '');
    if (!executable) throw new SessionError(`${argv0}: command not found`);
    const args = req.argv.slice(1);

    // The same switch of user and the same drivers as every command of the agent (process/).
    const { file, args: fileArgs, uid, gid } = asUser(executable, args, account, { agentUid: process.getuid?.() ?? 0, setprivPath: this.ctx.setpriv });
    const plan: SpawnPlan = {
      file,
      args: fileArgs,
      env,
      cwd: req.cwd,
      command: { file: executable, args },
      user: { name: account.name, uid: account.uid, gid: account.gid, home: account.home, shell: '' },
      uid,
      gid,
      // Real sudo's command sees argv[0] as typed; setpriv execs the resolved path itself.
      ...(file !== this.ctx.setpriv ? { argv0 } : {}),
      detached: true,
    };
    this.ctx.logger.info('sudo', { user: account.name || req.user, command: argv0, tty: req.tty });
    const events: DriverEvents = {
      onOutput: (kind, chunk) => this.output(kind === 'stderr' ? FrameType.STDERR : FrameType.STDOUT, chunk),
      onExit: (exit) => {
        const signal = typeof exit.signal === 'number' ? signalName(exit.signal) : exit.signal;
        this.onExit(signal ? null : exit.code, signal);
      },
    };
    try {
      return req.tty ? await spawnPtyDriver(plan, { cols: req.cols ?? 80, rows: req.rows ?? 24 }, events) : await spawnPipeDriver(plan, true, events);
    } catch (err) {
      throw new SessionError(`unable to execute ${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private output(type: number, data: Uint8Array): void {
    if (this.closed || data.length === 0) return;
    if (!this.socket.write(encodeFrame(type, data)) && !this.outputPaused) {
      this.outputPaused = true;
      this.running?.pause();
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
    if (this.running && !this.exited && !this.running.isPty) void this.running.closeStdin();
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
