import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Busboy, type BusboyInstance } from '@fastify/busboy';
import { ensureDirs } from '../../files/ensure-dirs.js';
import { validateMetadata } from '../../files/metadata.js';
import type { UserInfo } from '../../users/user-db.js';
import type { EnvdDeps } from '../deps.js';
import { authorizeFileRequest, resolveFilePath } from './file-user.js';
import { ErrorCode, SandboxdError, isSandboxdError } from '@sandboxd/protocol';

/**
 * How much of an upload may queue in memory before the writer pushes back: while one write is in
 * the sentry, the chunks that arrive meanwhile go out as one writev, so a larger queue means
 * fewer, larger writes under gVisor. Node's default is 16–64 KiB.
 */
const WRITE_QUEUE_BYTES = 1024 * 1024;

/** One element of the 200 response of POST /files. */
export interface UploadedEntry {
  path: string;
  name: string;
  type: 'file';
  metadata?: Record<string, string>;
}

/** `X-Metadata-<key>` headers → metadata (keys lower-cased, first value wins, empty keys dropped). */
export function metadataFromHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const md: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('x-metadata-') || value === undefined) continue;
    const key = name.slice('x-metadata-'.length);
    if (key === '') continue;
    md[key] = Array.isArray(value) ? (value[0] ?? '') : value;
  }
  return md;
}

const isZlibError = (err: unknown): boolean => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
};

/** The request body ended early or the client went away (a client error, never a 5xx). */
const requestBroken = (req: IncomingMessage): boolean => req.destroyed && !req.complete;

/** Maps a failure while reading the (possibly decompressed) body or writing the file. */
function bodyError(req: IncomingMessage, err: unknown, writing: string): SandboxdError {
  if (isSandboxdError(err)) return err;
  const e = err as NodeJS.ErrnoException;
  if (isZlibError(e)) return new SandboxdError(ErrorCode.BAD_REQUEST, `error decompressing request body: ${e.message}`);
  if (requestBroken(req)) return new SandboxdError(ErrorCode.BAD_REQUEST, `error reading request body: ${e.message}`);
  if (e.code === 'ENOSPC') return new SandboxdError(ErrorCode.INSUFFICIENT_STORAGE, `not enough disk space available: ${e.message}`);
  return new SandboxdError(ErrorCode.INTERNAL, `${writing}: ${e.message}`);
}

/** Drops a body nobody will read: unpiped, decompressor destroyed, request drained. */
function discard(req: IncomingMessage, body: Readable): void {
  if (body !== req) {
    req.unpipe();
    body.destroy();
  }
  if (!req.complete && !req.destroyed) req.resume();
}

/** Streams `source` into `path` (parents created for the user, file truncated and chowned), then sets metadata. */
async function writeUpload(
  req: IncomingMessage,
  path: string,
  source: Readable,
  user: UserInfo,
  metadata: Record<string, string>,
  deps: EnvdDeps,
): Promise<UploadedEntry> {
  try {
    await ensureDirs(dirname(path), user.uid, user.gid);
  } catch (err) {
    source.resume();
    throw new SandboxdError(ErrorCode.INTERNAL, `error ensuring directories: ${(err as Error).message}`);
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    source.resume();
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `path is a directory: ${path}`);
  }
  if (existing && (existing.isFIFO() || existing.isSocket())) {
    // Opening a FIFO without a reader blocks a libuv thread for good: four of them freeze all file I/O.
    source.resume();
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `path is not a regular file: ${path}`);
  }
  let handle;
  try {
    // O_NONBLOCK: a FIFO created after the stat above fails with ENXIO instead of blocking.
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NONBLOCK, 0o666);
    const st = await handle.stat();
    if (st.isFIFO() || st.isSocket()) throw new SandboxdError(ErrorCode.BAD_REQUEST, `path is not a regular file: ${path}`);
    await handle.chown(user.uid, user.gid);
  } catch (err) {
    source.resume();
    await handle?.close().catch(() => undefined);
    if (isSandboxdError(err)) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENXIO') throw new SandboxdError(ErrorCode.BAD_REQUEST, `path is not a regular file: ${path}`);
    if (e.code === 'ENOSPC') throw new SandboxdError(ErrorCode.INSUFFICIENT_STORAGE, `not enough inodes available: ${e.message}`);
    throw new SandboxdError(ErrorCode.INTERNAL, `error opening file: ${e.message}`);
  }
  try {
    await pipeline(source, handle.createWriteStream({ highWaterMark: WRITE_QUEUE_BYTES }));
  } catch (err) {
    throw bodyError(req, err, 'error writing file');
  } finally {
    await handle.close().catch(() => undefined);
  }
  const hasMetadata = Object.keys(metadata).length > 0;
  if (existing || hasMetadata) {
    try {
      await deps.metadata.replace(path, metadata);
    } catch (err) {
      throw new SandboxdError(ErrorCode.INTERNAL, `error writing metadata: ${(err as Error).message}`);
    }
  }
  return { path, name: basename(path), type: 'file', ...(hasMetadata ? { metadata } : {}) };
}

/**
 * POST /files: multipart (one part named `file` per file, written to the `path` query if given,
 * else to its filename) or octet-stream (query path), optionally gzip-encoded.
 */
export async function handleUpload(req: IncomingMessage, query: URLSearchParams, deps: EnvdDeps): Promise<UploadedEntry[]> {
  const user = authorizeFileRequest(req, query, deps, 'write');
  const metadata = metadataFromHeaders(req.headers);
  const invalid = validateMetadata(metadata);
  if (invalid) throw new SandboxdError(ErrorCode.BAD_REQUEST, `invalid metadata: ${invalid}`);

  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip') {
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `error decompressing request body: unsupported Content-Encoding: ${encoding}`);
  }
  const contentType = req.headers['content-type'] ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const queryPath = query.get('path');
  if (mediaType === 'application/octet-stream') {
    if (queryPath === null) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'path query parameter is required for raw body upload');
  } else if (!mediaType.startsWith('multipart/')) {
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `unsupported content type: ${contentType}, expected multipart/form-data or application/octet-stream`);
  }
  const rawPath = queryPath === null ? undefined : resolveFilePath(queryPath, user);
  let parser: BusboyInstance | undefined;
  if (rawPath === undefined || mediaType !== 'application/octet-stream') {
    try {
      parser = new Busboy({
        headers: { ...req.headers, 'content-type': contentType },
        preservePath: true,
        highWaterMark: WRITE_QUEUE_BYTES,
        fileHwm: WRITE_QUEUE_BYTES,
        // A part named `file` is a file even without a filename (it then needs the `path` query),
        // as is any part with one; everything else is a form field.
        isPartAFile: (field, _type, filename) => field === 'file' || filename !== undefined,
      });
    } catch (err) {
      // Missing or malformed boundary: the client's fault.
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `error parsing multipart form: ${(err as Error).message}`);
    }
  }

  // Decompression starts only once nothing above can throw, so no stream is left half-wired.
  const body: Readable = encoding === 'gzip' ? req.pipe(createGunzip({ chunkSize: WRITE_QUEUE_BYTES })) : req;
  if (body !== req) {
    req.on('error', (err) => body.destroy(err));
    // A body that is not gzip errors the gunzip stream, possibly before any consumer is attached:
    // without a listener that error killed the agent. Consumers (pipeline) still see it through
    // the stream's errored state.
    body.on('error', () => undefined);
  }
  try {
    if (!parser) return [await writeUpload(req, rawPath as string, body, user, metadata, deps)];
    return await uploadMultipart(req, body, parser, rawPath, user, metadata, deps);
  } finally {
    if (!body.readableEnded || !req.complete) discard(req, body);
  }
}

/**
 * One part named `file` per file, written one after another in arrival order (busboy holds the
 * next part back until the previous one is consumed). The answer waits for the whole form to be
 * parsed and every file to be written, so a broken form can never be reported as a success.
 */
async function uploadMultipart(
  req: IncomingMessage,
  body: Readable,
  parser: BusboyInstance,
  queryPath: string | undefined,
  user: UserInfo,
  metadata: Record<string, string>,
  deps: EnvdDeps,
): Promise<UploadedEntry[]> {
  const results: UploadedEntry[] = [];
  let failure: SandboxdError | undefined;
  let chain: Promise<void> = Promise.resolve();
  // File streams not yet ended: a parser torn down by a failing body leaves them open for good.
  const unfinished = new Set<Readable>();
  parser.on('file', (field, stream, filename: string | undefined) => {
    // busboy errors a file stream when the form ends mid-part, maybe before (or after) the chain
    // below reads it: an unlistened 'error' there took the agent down.
    stream.on('error', () => undefined);
    unfinished.add(stream);
    stream.on('close', () => unfinished.delete(stream));
    if (field !== 'file') {
      stream.resume();
      return;
    }
    chain = chain.then(async () => {
      if (failure !== undefined) {
        stream.resume();
        return;
      }
      try {
        if (queryPath === undefined && filename === undefined) {
          throw new SandboxdError(ErrorCode.BAD_REQUEST, 'error getting multipart custom part file name: filename not found in Content-Disposition header');
        }
        const path = queryPath ?? resolveFilePath(filename ?? '', user);
        if (results.some((r) => r.path === path)) {
          const others = results.filter((r) => r.path !== path).map((r) => r.path);
          let msg = `you cannot upload multiple files to the same path '${path}' in one upload request, only the first specified file was uploaded`;
          if (others.length > 1) msg += `, also the following files were uploaded: ${others.join(', ')}`;
          throw new SandboxdError(ErrorCode.BAD_REQUEST, msg);
        }
        results.push(await writeUpload(req, path, stream, user, metadata, deps));
      } catch (err) {
        failure ??= bodyError(req, err, 'error writing file');
        stream.resume();
      }
    });
  });
  try {
    await pipeline(body, parser);
  } catch (err) {
    failure ??=
      isZlibError(err) || requestBroken(req) || isSandboxdError(err)
        ? bodyError(req, err, 'error reading form')
        : new SandboxdError(ErrorCode.BAD_REQUEST, `error parsing multipart form: ${(err as Error).message}`);
    for (const stream of unfinished) stream.destroy(err as Error);
  }
  await chain;
  if (failure) throw failure;
  return results;
}
