import type { SandboxdConnection } from '@sandboxd/mcp';
import { CommandExitError, type CommandHandle, type Sandbox } from 'e2b';
import { connectSandbox, toCliError } from './sandbox-client.js';
import { writeWithBackpressure } from './sandbox-exec.js';

/** Signals that end `shell` from outside: the terminal is restored and the PTY killed first. */
const ENDING_SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
const SIGNAL_NUMBERS: Record<(typeof ENDING_SIGNALS)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

export interface ShellOptions {
  user?: string;
  cwd?: string;
}

/**
 * Puts the local terminal in raw mode and returns the function that undoes it; idempotent, and
 * also run on process exit, so the terminal comes back on every way out.
 */
function enterRawMode(stdin: NodeJS.ReadStream): () => void {
  if (!stdin.isTTY) return () => undefined;
  stdin.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    try {
      stdin.setRawMode(false);
    } catch {
      // the terminal is gone
    }
  };
  process.on('exit', restore);
  return restore;
}

/**
 * `sandbox shell <id>`: an interactive login shell on a PTY in the sandbox. The local terminal is
 * raw (keys, Ctrl-C included, go to the sandbox), its size follows SIGWINCH, stdin is forwarded,
 * and the shell's exit status is the result. SIGTERM/SIGHUP/SIGINT from outside kill the PTY and
 * resolve to 128 + the signal number; the terminal is restored on every path.
 */
export async function sandboxShell(connection: SandboxdConnection, sandboxId: string, opts: ShellOptions): Promise<number> {
  const { stdin, stdout } = process;
  const size = () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
  let sandbox: Sandbox;
  let handle: CommandHandle;
  try {
    sandbox = await connectSandbox(connection, sandboxId);
    handle = await sandbox.pty.create({
      ...size(),
      timeoutMs: 0,
      envs: { TERM: process.env['TERM'] || 'xterm-256color' },
      ...(opts.user ? { user: opts.user } : {}),
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      onData: (data) => writeWithBackpressure(stdout, data),
    });
  } catch (error) {
    throw toCliError(error, connection, sandboxId);
  }
  const pid = handle.pid;
  const restore = enterRawMode(stdin);
  let input = Promise.resolve();
  let exited = false;
  const send = (data: Uint8Array) => {
    input = input.then(() => sandbox.pty.sendInput(pid, data)).catch(() => undefined);
  };
  const onData = (chunk: Buffer) => send(new Uint8Array(chunk));
  // Without a terminal, end of input is Ctrl-D at the start of a line: the shell's own EOF.
  const onEnd = () => {
    if (!stdin.isTTY) send(new Uint8Array([0x0a, 0x04]));
  };
  const onResize = () => void sandbox.pty.resize(pid, size()).catch(() => undefined);
  let stoppedBy: number | undefined;
  const onSignal = (signal: (typeof ENDING_SIGNALS)[number]) => {
    stoppedBy = 128 + SIGNAL_NUMBERS[signal];
    void handle.kill().catch(() => undefined);
  };
  const signalHandlers = ENDING_SIGNALS.map((signal) => [signal, () => onSignal(signal)] as const);
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdout.on('resize', onResize);
  for (const [signal, handler] of signalHandlers) process.on(signal, handler);
  stdin.resume();
  try {
    const result = await handle.wait();
    exited = true;
    return stoppedBy ?? result.exitCode;
  } catch (error) {
    if (stoppedBy !== undefined) return stoppedBy;
    if (error instanceof CommandExitError) {
      exited = true;
      return error.exitCode;
    }
    // The shell's last line may be unfinished (a prompt): the error starts on a line of its own.
    if (stdout.isTTY) stdout.write('\r\n');
    throw toCliError(error, connection, sandboxId);
  } finally {
    // The stream broke with the shell still running: do not leave it behind.
    if (!exited && stoppedBy === undefined) void handle.kill().catch(() => undefined);
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdout.off('resize', onResize);
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
    stdin.pause();
    restore();
  }
}
