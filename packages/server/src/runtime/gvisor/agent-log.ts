import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from './host-command.js';

/** Size of one log file before it is rotated (multilog's `s`). */
export const AGENT_LOG_FILE_BYTES = 1024 * 1024;
/** Log files kept, the current one included (multilog's `n`): at most ~4 MiB of host disk per sandbox. */
export const AGENT_LOG_FILES = 4;

/**
 * The host side of a sandbox's console (what PID 1 and anything writing to /proc/1/fd/1 prints):
 * a FIFO whose reader is daemontools' `multilog`, which writes `current` in `logDir` and rotates
 * it at AGENT_LOG_FILE_BYTES, keeping AGENT_LOG_FILES files. multilog runs in its own session, so
 * it outlives a daemon restart exactly as the sandbox does, and it ends by itself when the
 * sandbox's processes (the last writers) are gone.
 */
export interface AgentLogSink {
  /** The write end to give `runsc create` as the container's stdout and stderr. */
  fd: number;
  /** Closes the daemon's copy of the write end (the sandbox keeps its own). */
  close(): Promise<void>;
  /** Resolves when multilog has exited (after the last writer closed), or after `timeoutMs`. */
  drained(timeoutMs: number): Promise<void>;
}

export async function openAgentLog(logDir: string, op: OperationOptions = {}): Promise<AgentLogSink> {
  await mkdir(logDir, { recursive: true, mode: 0o700 });
  const fifo = join(logDir, 'console.fifo');
  await rm(fifo, { force: true });
  await runCommand('mkfifo', ['-m', '0600', fifo], op);
  // Read-write: opening never blocks, and the FIFO always has a reader, so a writer inside never
  // gets SIGPIPE (which would kill the gVisor sentry on its own stdout) even if multilog dies.
  const handle: FileHandle = await open(fifo, constants.O_RDWR);
  let writer: ChildProcess;
  try {
    writer = spawn('sh', ['-c', 'exec multilog "s$1" "n$2" "$3" < "$4"', 'sh', String(AGENT_LOG_FILE_BYTES), String(AGENT_LOG_FILES), logDir, fifo], {
      detached: true,
      stdio: 'ignore',
    });
  } catch (error) {
    await handle.close();
    throw error;
  }
  const exited = new Promise<void>((resolve) => {
    writer.once('exit', () => resolve());
    writer.once('error', () => resolve());
  });
  writer.unref();
  return {
    fd: handle.fd,
    close: () => handle.close().catch(() => undefined),
    drained: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        void exited.then(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/** The log's files oldest first: rotated ones (`@<tai64n>.s`/`.u`, named in time order) then `current`. */
async function logFiles(logDir: string): Promise<string[]> {
  const names = await readdir(logDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, 'the sandbox has no log');
    throw error;
  });
  const rotated = names.filter((n) => n.startsWith('@')).sort();
  return [...rotated, ...(names.includes('current') ? ['current'] : [])].map((n) => join(logDir, n));
}

/** The last `maxBytes` of a file (whole lines only, unless the file is one huge line). */
export async function readTail(path: string, maxBytes: number): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const text = buffer.toString('utf8');
    if (length === size) return text;
    const firstBreak = text.indexOf('\n');
    return firstBreak >= 0 ? text.slice(firstBreak + 1) : text;
  } finally {
    await handle.close();
  }
}

/**
 * The log's lines, oldest first, at most `maxBytes` of them (the newest): the files are bounded
 * by rotation, and this never reads more than `maxBytes` into memory whatever is on disk.
 */
export async function readAgentLog(logDir: string, maxBytes = AGENT_LOG_FILE_BYTES * AGENT_LOG_FILES): Promise<string[]> {
  const files = await logFiles(logDir);
  const parts: string[] = [];
  let budget = maxBytes;
  for (const file of files.reverse()) {
    if (budget <= 0) break;
    const size = await stat(file).then((s) => s.size, () => 0);
    const text = await readTail(file, Math.min(size, budget));
    budget -= Buffer.byteLength(text);
    parts.unshift(text);
  }
  return parts
    .join('')
    .split('\n')
    .filter((line) => line.length > 0);
}
