import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import busboy from 'busboy';
import { isSandboxdError } from '@sandboxd/protocol';
import { ensureDirs } from '../../files/ensure-dirs.js';
import { validateMetadata } from '../../files/metadata.js';
import type { UserInfo } from '../../users/user-db.js';
import type { EnvdDeps } from '../deps.js';
import { authorizeFileRequest, resolveFilePath } from './file-user.js';
import { HttpError } from './reply.js';

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

/** Streams `source` into `path` (parents created for the user, file truncated and chowned), then sets metadata. */
async function writeUpload(path: string, source: Readable, user: UserInfo, metadata: Record<string, string>, deps: EnvdDeps): Promise<UploadedEntry> {
  try {
    await ensureDirs(dirname(path), user.uid, user.gid);
  } catch (err) {
    source.resume();
    throw new HttpError(500, `error ensuring directories: ${(err as Error).message}`);
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) {
    source.resume();
    throw new HttpError(400, `path is a directory: ${path}`);
  }
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o666);
    await handle.chown(user.uid, user.gid);
  } catch (err) {
    source.resume();
    await handle?.close();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC') throw new HttpError(507, `not enough inodes available: ${e.message}`);
    throw new HttpError(500, `error opening file: ${e.message}`);
  }
  try {
    await pipeline(source, handle.createWriteStream());
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC') throw new HttpError(507, `not enough disk space available: ${e.message}`);
    if (isZlibError(e)) throw new HttpError(400, `error decompressing request body: ${e.message}`);
    throw new HttpError(500, `error writing file: ${e.message}`);
  } finally {
    await handle.close().catch(() => undefined);
  }
  const hasMetadata = Object.keys(metadata).length > 0;
  if (existing || hasMetadata) {
    try {
      await deps.metadata.replace(path, metadata);
    } catch (err) {
      throw new HttpError(500, `error writing metadata: ${(err as Error).message}`);
    }
  }
  return { path, name: basename(path), type: 'file', ...(hasMetadata ? { metadata } : {}) };
}

/** POST /files: multipart (one part per file, filename = path) or octet-stream (query path), optionally gzip-encoded. */
export async function handleUpload(req: IncomingMessage, query: URLSearchParams, deps: EnvdDeps): Promise<UploadedEntry[]> {
  const user = authorizeFileRequest(req, query, deps, 'write');
  const metadata = metadataFromHeaders(req.headers);
  const invalid = validateMetadata(metadata);
  if (invalid) throw new HttpError(400, `invalid metadata: ${invalid}`);

  const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity' && encoding !== 'gzip') {
    throw new HttpError(400, `error decompressing request body: unsupported Content-Encoding: ${encoding}`);
  }
  const body: Readable = encoding === 'gzip' ? req.pipe(createGunzip()) : req;
  if (body !== req) {
    req.on('error', (err) => body.destroy(err));
    // A body that is not gzip errors the gunzip stream, possibly before any consumer is attached
    // (or when validation below throws first): without a listener that error killed the agent.
    // Consumers (pipeline) still see it through the stream's errored state.
    body.on('error', () => undefined);
  }

  const contentType = req.headers['content-type'] ?? '';
  const mediaType = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  const queryPath = query.get('path');
  if (mediaType === 'application/octet-stream') {
    if (queryPath === null) throw new HttpError(400, 'path query parameter is required for raw body upload');
    return [await writeUpload(resolveFilePath(queryPath, user), body, user, metadata, deps)];
  }
  if (!mediaType.startsWith('multipart/')) {
    throw new HttpError(400, `unsupported content type: ${contentType}, expected multipart/form-data or application/octet-stream`);
  }
  return uploadMultipart(req, body, queryPath, user, metadata, deps);
}

function uploadMultipart(
  req: IncomingMessage,
  body: Readable,
  queryPath: string | null,
  user: UserInfo,
  metadata: Record<string, string>,
  deps: EnvdDeps,
): Promise<UploadedEntry[]> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, preservePath: true });
    } catch (err) {
      reject(new HttpError(500, `error parsing multipart form: ${(err as Error).message}`));
      return;
    }
    const results: UploadedEntry[] = [];
    let failure: unknown;
    let chain: Promise<void> = Promise.resolve();
    parser.on('file', (field, stream, info) => {
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
          const path = resolveFilePath(queryPath ?? info.filename ?? '', user);
          if (results.some((r) => r.path === path)) {
            const others = results.filter((r) => r.path !== path).map((r) => r.path);
            let msg = `you cannot upload multiple files to the same path '${path}' in one upload request, only the first specified file was uploaded`;
            if (others.length > 1) msg += `, also the following files were uploaded: ${others.join(', ')}`;
            throw new HttpError(400, msg);
          }
          results.push(await writeUpload(path, stream, user, metadata, deps));
        } catch (err) {
          failure = err;
          stream.resume();
        }
      });
    });
    parser.on('field', () => undefined);
    parser.once('close', () => {
      chain.then(() => (failure === undefined ? resolve(results) : reject(failure)), reject);
    });
    pipeline(body, parser).catch((err: unknown) => {
      if (failure !== undefined || isSandboxdError(err)) return;
      failure = isZlibError(err)
        ? new HttpError(400, `error decompressing request body: ${(err as Error).message}`)
        : new HttpError(500, `error reading form: ${(err as Error).message}`);
      chain.then(() => reject(failure), reject);
    });
  });
}
