import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { extname } from 'node:path';

const BY_EXTENSION: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.xml': 'text/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.wasm': 'application/wasm',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
};

/**
 * Content-Type for a download, as Go's ServeContent picks it: by extension, else sniffed from the
 * first 512 bytes (UTF-8 text without NULs → text/plain; charset=utf-8), else octet-stream.
 */
export async function contentTypeOf(path: string, opened?: FileHandle): Promise<string> {
  const byExt = BY_EXTENSION[extname(path).toLowerCase()];
  if (byExt) return byExt;
  const handle = opened ?? (await open(path, 'r').catch(() => undefined));
  if (!handle) return 'application/octet-stream';
  try {
    const buf = Buffer.alloc(512);
    // Unreadable (EIO from /proc, EAGAIN from a device): not text, and not the request's failure.
    const read = await handle.read(buf, 0, 512, 0).catch(() => undefined);
    if (!read) return 'application/octet-stream';
    const { bytesRead } = read;
    const head = buf.subarray(0, bytesRead);
    if (head.includes(0)) return 'application/octet-stream';
    // A multi-byte character cut at the 512-byte boundary still counts as text.
    const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
    const bad = (text.match(/\uFFFD/g) ?? []).length;
    return bad <= (bytesRead === 512 ? 1 : 0) ? 'text/plain; charset=utf-8' : 'application/octet-stream';
  } finally {
    if (!opened) await handle.close().catch(() => undefined);
  }
}
