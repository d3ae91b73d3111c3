import { createReadStream, createWriteStream, statSync, unlinkSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { SandboxdConnection } from '@sandboxd/mcp';
import { FileNotFoundError, FileType, type Sandbox } from 'e2b';
import { parseCpArgs } from './sandbox-args.js';
import { connectSandbox, toCliError } from './sandbox-client.js';
import { formatProgress } from './sandbox-format.js';

/** Files at least this large get a progress line (when stderr is a terminal). */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;
const PROGRESS_INTERVAL_MS = 200;

export interface CpOptions {
  user?: string;
  /** Where the progress line goes: a terminal stderr, or none. */
  progress?: Writable & { isTTY?: boolean };
}

/** A pass-through stream that counts bytes and redraws one progress line on `tty`. */
function progressCounter(name: string, total: number, tty: Writable | undefined): { stream: Transform; finish(): void } {
  const started = Date.now();
  let done = 0;
  let drawn = 0;
  const draw = () => tty?.write(`\r\x1b[K${formatProgress(name, done, total, Date.now() - started)}`);
  const stream = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      done += chunk.length;
      if (tty && Date.now() - drawn >= PROGRESS_INTERVAL_MS) {
        drawn = Date.now();
        draw();
      }
      callback(null, chunk);
    },
  });
  return {
    stream,
    finish: () => {
      if (!tty) return;
      draw();
      tty.write('\n');
    },
  };
}

const bad = (message: string) => new SandboxdError(ErrorCode.BAD_REQUEST, message);

/** The remote file an upload writes: into the directory when `remote` is one (or ends with `/`). */
async function uploadTarget(sandbox: Sandbox, remote: string, localName: string, user: string | undefined): Promise<string> {
  if (remote.endsWith('/')) return posix.join(remote, localName);
  try {
    const info = await sandbox.files.getInfo(remote, user ? { user } : {});
    return info.type === FileType.DIR ? posix.join(remote, localName) : remote;
  } catch (error) {
    if (error instanceof FileNotFoundError) return remote;
    throw error;
  }
}

/** The local file a download writes: into the directory when `local` is one. */
function downloadTarget(local: string, remoteName: string): string {
  try {
    return statSync(local).isDirectory() ? join(local, remoteName) : local;
  } catch {
    return local;
  }
}

/**
 * `sandbox cp <src> <dst>`: one file between this machine and a sandbox (`<id>:<path>` on one
 * side), streamed both ways; a progress line on a terminal stderr for files over 4 MiB.
 * Prints nothing on success.
 */
export async function copyFile(connection: SandboxdConnection, src: string, dst: string, opts: CpOptions): Promise<number> {
  const plan = parseCpArgs(src, dst);
  const tty = opts.progress?.isTTY ? opts.progress : undefined;
  const userOpt = opts.user ? { user: opts.user } : {};
  if (plan.direction === 'upload') {
    let size: number;
    try {
      const stat = statSync(plan.local);
      if (stat.isDirectory()) throw bad(`cp: ${plan.local} is a directory; cp copies one file`);
      size = stat.size;
    } catch (error) {
      if (error instanceof SandboxdError) throw error;
      throw bad(`cp: cannot read ${plan.local}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    try {
      const sandbox = await connectSandbox(connection, plan.sandboxId);
      const target = await uploadTarget(sandbox, plan.remote, basename(plan.local), opts.user);
      const counter = progressCounter(basename(plan.local), size, size >= PROGRESS_MIN_BYTES ? tty : undefined);
      const body = Readable.toWeb(createReadStream(plan.local).pipe(counter.stream)) as unknown as ReadableStream<Uint8Array>;
      await sandbox.files.write(target, body, userOpt);
      counter.finish();
    } catch (error) {
      throw toCliError(error, connection, plan.sandboxId);
    }
    return 0;
  }

  let partial: string | undefined;
  try {
    const sandbox = await connectSandbox(connection, plan.sandboxId);
    const info = await sandbox.files.getInfo(plan.remote, userOpt);
    if (info.type === FileType.DIR) throw bad(`cp: ${plan.sandboxId}:${plan.remote} is a directory; cp copies one file`);
    const target = downloadTarget(plan.local, posix.basename(plan.remote));
    const size = info.size;
    const stream = await sandbox.files.read(plan.remote, { ...userOpt, format: 'stream' });
    const counter = progressCounter(posix.basename(plan.remote), size, size >= PROGRESS_MIN_BYTES ? tty : undefined);
    partial = target;
    await pipeline(Readable.fromWeb(stream as unknown as WebReadableStream<Uint8Array>), counter.stream, createWriteStream(target));
    counter.finish();
  } catch (error) {
    if (partial !== undefined) {
      try {
        unlinkSync(partial);
      } catch {
        // nothing was written
      }
    }
    if (error instanceof FileNotFoundError) throw new SandboxdError(ErrorCode.NOT_FOUND, `cp: no file ${plan.sandboxId}:${plan.remote}`, { cause: error });
    throw toCliError(error, connection, plan.sandboxId);
  }
  return 0;
}
