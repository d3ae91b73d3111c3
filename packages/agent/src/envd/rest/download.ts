import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, deflateRawSync } from 'node:zlib';
import type { EnvdDeps } from '../deps.js';
import { contentTypeOf } from './content-type.js';
import { authorizeFileRequest, resolveFilePath } from './file-user.js';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/**
 * Bytes per read of a download: each read (and each socket write after it) is a trip into gVisor's
 * sentry, so fewer, larger ones; Node's default is 64 KiB.
 */
const READ_CHUNK_BYTES = 1024 * 1024;
// The gzip stream's output pieces too: each piece is a hand-off to a libuv worker thread and back
// (futex wake-ups, slow under gVisor) and a socket write; zlib's default piece is 16 KiB.

/** Bytes of a file's start compressed to decide whether gzip is worth its CPU. */
const PROBE_BYTES = 64 * 1024;
/** A probe that does not shrink below this share of its size says "incompressible": sent as is. */
const WORTH_GZIP_RATIO = 0.9;

/**
 * True when a file's first bytes shrink under gzip's level 1 by more than 10%. Random, encrypted
 * and already-compressed data (archives, images, wheels) do not: compressing them costs 4–5× the
 * CPU of sending them (the sandbox's CPU, under gVisor) and saves nothing, so they go out as
 * identity, which every Accept-Encoding admits unless it refuses identity outright.
 */
export function worthGzip(sample: Buffer): boolean {
  if (sample.length === 0) return false;
  return deflateRawSync(sample, { level: 1 }).length < sample.length * WORTH_GZIP_RATIO;
}

/** True when Accept-Encoding refuses identity (`identity;q=0`, or `*;q=0` without identity). */
export function refusesIdentity(header: string | undefined): boolean {
  if (!header) return false;
  let identity: number | undefined;
  let wildcard: number | undefined;
  for (const part of header.split(',')) {
    const [token, ...params] = part.trim().split(';');
    const name = token?.trim().toLowerCase();
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const quality = q === undefined ? 1 : Number(q.slice(2));
    if (name === 'identity') identity = quality;
    else if (name === '*') wildcard = quality;
  }
  if (identity !== undefined) return identity === 0;
  return wildcard === 0;
}

/** The first bytes of an open file (up to PROBE_BYTES), read at offset 0 without moving anything. */
async function probe(handle: FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(Math.min(PROBE_BYTES, size));
  const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
  return buffer.subarray(0, bytesRead);
}

/** True when Accept-Encoding admits gzip (q > 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [token, ...params] = part.trim().split(';');
    const name = token?.trim().toLowerCase();
    if (name !== 'gzip' && name !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/** Parses a single `bytes=a-b` range; 'invalid' when unsatisfiable, undefined when absent or multi-range. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'invalid' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return 'invalid';
  let start: number;
  let end: number;
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || start > end) return 'invalid';
  return { start, end };
}

function contentDisposition(name: string): string {
  if (/^[\x21-\x7e]+$/.test(name) && !/[()<>@,;:\\"/[\]?={}]/.test(name)) return `inline; filename=${name}`;
  if (/^[\x20-\x7e]*$/.test(name)) return `inline; filename="${name.replace(/["\\]/g, '\\$&')}"`;
  return `inline; filename*=utf-8''${encodeURIComponent(name)}`;
}

/**
 * Passes exactly `length` bytes: a file that shrinks while being read fails the stream (so the
 * response is cut instead of promising bytes that never come); one that grows is cut at `length`.
 */
function exactly(length: number): Transform {
  let left = length;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left <= 0) return cb();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      left -= part.length;
      cb(null, part);
    },
    flush(cb) {
      cb(left > 0 ? new Error(`file shrank while being read: ${left} bytes missing`) : null);
    },
  });
}

/** Opens a download without ever blocking on a FIFO (O_NONBLOCK) and refuses anything but files and devices. */
async function openForDownload(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new SandboxdError(ErrorCode.NOT_FOUND, `path '${path}' does not exist`);
    if (e.code === 'EISDIR') throw new SandboxdError(ErrorCode.BAD_REQUEST, `path '${path}' is a directory`);
    if (e.code === 'ENXIO') throw new SandboxdError(ErrorCode.BAD_REQUEST, `path '${path}' is not a regular file`);
    if (e.code === 'EACCES' || e.code === 'EPERM') throw new SandboxdError(ErrorCode.FORBIDDEN, `error opening file '${path}': ${e.message}`);
    throw new SandboxdError(ErrorCode.INTERNAL, `error checking if path exists '${path}': ${e.message}`);
  }
  return handle;
}

/** GET /files: streams a file (Content-Length, optional gzip, single Range). */
export async function handleDownload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, deps: EnvdDeps): Promise<void> {
  const user = authorizeFileRequest(req, query, deps, 'read');
  const path = resolveFilePath(query.get('path') ?? '', user);
  const handle = await openForDownload(path);
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new SandboxdError(ErrorCode.BAD_REQUEST, `path '${path}' is a directory`);
    if (st.isFIFO() || st.isSocket()) throw new SandboxdError(ErrorCode.BAD_REQUEST, `path '${path}' is not a regular file`);
    const size = st.size;
    const headers: Record<string, string | number> = {
      'Content-Type': await contentTypeOf(path, handle),
      'Content-Disposition': contentDisposition(basename(path)),
      Vary: 'Accept-Encoding',
      'Last-Modified': st.mtime.toUTCString(),
      'Accept-Ranges': 'bytes',
    };
    if (size === 0) {
      res.writeHead(200, { ...headers, 'Content-Length': 0 });
      res.end();
      return;
    }
    const rangeHeader = req.headers.range;
    const range = parseRange(rangeHeader, size);
    if (range === 'invalid') {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    const read = (start: number, end: number): Readable => handle.createReadStream({ start, end, autoClose: true, highWaterMark: READ_CHUNK_BYTES });
    if (range) {
      const length = range.end - range.start + 1;
      res.writeHead(206, { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${size}`, 'Content-Length': length });
      await pipeline(read(range.start, range.end), exactly(length), res);
      return;
    }
    const conditional = rangeHeader || req.headers['if-modified-since'] || req.headers['if-none-match'] || req.headers['if-range'];
    const acceptEncoding = req.headers['accept-encoding'];
    if (!conditional && acceptsGzip(acceptEncoding) && (refusesIdentity(acceptEncoding) || worthGzip(await probe(handle, size)))) {
      res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip' });
      await pipeline(read(0, size - 1), exactly(size), createGzip({ level: 1, chunkSize: READ_CHUNK_BYTES }), res);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': size });
    await pipeline(read(0, size - 1), exactly(size), res);
  } finally {
    // Closed here however the response ended, streamed or not: on Node 24 a handle's read stream
    // that a client disconnect destroys mid-pipeline can leave the handle open (seen with
    // bad-input.test.ts). After the stream's own close this resolves at once.
    await handle.close().catch(() => undefined);
  }
}
