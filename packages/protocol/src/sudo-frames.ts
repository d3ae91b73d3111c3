/**
 * Wire contract between the sudo shims (`packages/agent/sudo/sudo`, Python; `packages/agent/src/sudo/shim`, Node.js; run as any user) and the
 * root-side broker (`packages/agent/src/sudo/broker.ts`), over a Unix stream socket (by default
 * `/run/sandboxd-sudo/sudo.sock`; `SANDBOXD_SUDO_SOCKET` tells the shim another one, `@name` being an
 * abstract name).
 *
 * Framing, both directions: `type: u8 | length: u32 big-endian | payload: length bytes`.
 *
 * Client → broker
 *   0x01 REQUEST   JSON {@link SudoRequest}; first frame, exactly once
 *   0x02 STDIN     raw bytes for the command's stdin (pipe) or terminal (pty); never more than the
 *                  credit the broker has granted (see CREDIT)
 *   0x03 STDIN_EOF the client's stdin reached EOF: the broker closes the command's stdin (pipes;
 *                  ignored for a pty, where ^D is just a byte)
 *   0x04 SIGNAL    UTF-8 signal name (`SIGINT`, `SIGTERM`, `SIGHUP`, `SIGQUIT`, `SIGUSR1`, `SIGUSR2`,
 *                  `SIGCONT`, `SIGSTOP`, `SIGTSTP`, `SIGWINCH`): delivered to the command's process
 *   0x05 RESIZE    JSON `{cols, rows}`: new terminal size (pty only)
 *   0x06 CLOSE_OUT u8 1 (stdout) or 2 (stderr): the client can no longer write that stream (EPIPE);
 *                  the broker closes the command's end so the command gets SIGPIPE/EPIPE like it would
 *                  have with real sudo (`sudo yes | head -1` terminates)
 *
 * Broker → client
 *   0x81 STARTED   JSON `{pid}`: the command is running
 *   0x82 STDOUT    raw bytes (everything from a pty arrives here)
 *   0x83 STDERR    raw bytes (pipes only)
 *   0x84 CREDIT    u32: the client may send this many more STDIN bytes (flow control: stdin frames
 *                  never back up the socket, so SIGNAL/RESIZE frames always get through)
 *   0x85 EXIT      JSON `{code, signal, signo}` after all output: exit code, or the name/number of the
 *                  signal that killed the command (the shim exits with 128 + signo)
 *   0x86 ERROR     JSON `{message, exitCode}`: the command could not be started (bad request, unknown
 *                  user, command not found, …); the shim prints `sudo: <message>` and exits
 *
 * Either side may close the connection at any time; when the client goes away before the command
 * ends, the broker sends the command SIGHUP (as a terminal hang-up would).
 *
 * The Python shim cannot import this module: its constants are checked against these by
 * `packages/agent/src/sudo/shim-contract.test.ts`. The Node.js shim (`packages/agent/src/sudo/shim`,
 * for images without /usr/bin/python3) imports it.
 */

export const FrameType = {
  REQUEST: 0x01,
  STDIN: 0x02,
  STDIN_EOF: 0x03,
  SIGNAL: 0x04,
  RESIZE: 0x05,
  CLOSE_OUT: 0x06,
  STARTED: 0x81,
  STDOUT: 0x82,
  STDERR: 0x83,
  CREDIT: 0x84,
  EXIT: 0x85,
  ERROR: 0x86,
} as const;

export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

/** What the shim asks for. The shim applies sudo's option and environment policy; the broker executes. */
export interface SudoRequest {
  version: 1;
  /** Command and arguments; argv[0] without a slash is looked up in `env.PATH`. */
  argv: string[];
  /** Target account: a name from /etc/passwd or `#uid`. */
  user: string;
  /** Working directory of the command. */
  cwd: string;
  /** The command's complete environment (sudo's env_reset / -E / --preserve-env already applied). */
  env: Record<string, string>;
  /** Run the command on a new pseudo-terminal (the shim's stdin and stdout are terminals). */
  tty: boolean;
  cols?: number;
  rows?: number;
}

export const FRAME_HEADER_SIZE = 5;
/** Largest payload accepted (the request carries a whole environment). */
export const MAX_FRAME_PAYLOAD = 8 * 1024 * 1024;
/** Stdin bytes the client may have in flight before the broker grants more. */
export const STDIN_WINDOW = 256 * 1024;

export function encodeFrame(type: number, payload: Uint8Array | string = new Uint8Array(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + body.length);
  frame.writeUInt8(type, 0);
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, FRAME_HEADER_SIZE);
  return frame;
}

export function encodeJsonFrame(type: number, value: unknown): Buffer {
  return encodeFrame(type, JSON.stringify(value));
}

export interface Frame {
  type: number;
  payload: Buffer;
}

export class FrameError extends Error {}

/** Incremental frame parser: push bytes as they arrive, get whole frames back. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPayload = MAX_FRAME_PAYLOAD) {}

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= FRAME_HEADER_SIZE) {
      const type = this.buf.readUInt8(off);
      const len = this.buf.readUInt32BE(off + 1);
      if (len > this.maxPayload) throw new FrameError(`frame of ${len} bytes exceeds the ${this.maxPayload} byte limit`);
      if (this.buf.length - off - FRAME_HEADER_SIZE < len) break;
      const start = off + FRAME_HEADER_SIZE;
      frames.push({ type, payload: Buffer.from(this.buf.subarray(start, start + len)) });
      off = start + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(off));
    return frames;
  }

  /** Bytes of an incomplete frame still buffered. */
  get pending(): number {
    return this.buf.length;
  }
}

/** Validates a decoded REQUEST payload. */
export function parseRequest(payload: Buffer): SudoRequest {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new FrameError('request is not valid JSON');
  }
  if (typeof value !== 'object' || value === null) throw new FrameError('request must be a JSON object');
  const v = value as Record<string, unknown>;
  if (v['version'] !== 1) throw new FrameError(`unsupported protocol version ${String(v['version'])}`);
  const argv = v['argv'];
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string') || argv[0] === '') {
    throw new FrameError('argv must be a non-empty array of strings');
  }
  const user = v['user'];
  if (typeof user !== 'string' || user === '') throw new FrameError('user must be a non-empty string');
  const cwd = v['cwd'];
  if (typeof cwd !== 'string' || !cwd.startsWith('/')) throw new FrameError('cwd must be an absolute path');
  const rawEnv = v['env'];
  if (typeof rawEnv !== 'object' || rawEnv === null || Array.isArray(rawEnv)) throw new FrameError('env must be an object');
  const env: Record<string, string> = {};
  for (const [k, val] of Object.entries(rawEnv as Record<string, unknown>)) {
    if (typeof val !== 'string') throw new FrameError(`env.${k} must be a string`);
    if (k === '' || k.includes('=') || k.includes('\0') || val.includes('\0')) continue;
    env[k] = val;
  }
  if (argv.some((a: string) => a.includes('\0')) || cwd.includes('\0')) throw new FrameError('NUL byte in argv or cwd');
  const size = (key: string): number | undefined => {
    const x = v[key];
    return typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 65536 ? x : undefined;
  };
  const cols = size('cols');
  const rows = size('rows');
  return {
    version: 1,
    argv: argv as string[],
    user,
    cwd,
    env,
    tty: v['tty'] === true,
    ...(cols !== undefined ? { cols } : {}),
    ...(rows !== undefined ? { rows } : {}),
  };
}
