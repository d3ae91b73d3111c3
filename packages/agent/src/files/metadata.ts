import { execFile } from 'node:child_process';
import type { Logger } from '../logger.js';

/** xattr namespace of user metadata; the prefix is stripped in EntryInfo.metadata. */
export const METADATA_PREFIX = 'user.e2b.';
const MAX_KEY_LEN = 255 - METADATA_PREFIX.length;
const MAX_TOTAL_LEN = 4096;

/**
 * User-defined file metadata kept in `user.e2b.*` extended attributes. Node has no xattr API, so
 * this shells out to `getfattr`/`setfattr` (Debian package `attr`); without them metadata reads
 * are empty and writes fail.
 */
export interface MetadataStore {
  /** Metadata of each path that has any (paths without metadata are absent). */
  read(paths: string[]): Promise<Map<string, Record<string, string>>>;
  /** Replaces the file's metadata with `metadata` (empty clears it). */
  replace(path: string, metadata: Record<string, string>): Promise<void>;
}

/** Why a metadata set is rejected (printable ASCII only, key ≤ 246 bytes, total ≤ 4096), or undefined. */
export function validateMetadata(metadata: Record<string, string>): string | undefined {
  let total = 0;
  const printable = /^[\x20-\x7e]*$/;
  for (const [k, v] of Object.entries(metadata)) {
    if (k === '') return 'metadata key must not be empty';
    if (k.length > MAX_KEY_LEN) return `metadata key "${k}" exceeds ${MAX_KEY_LEN} bytes`;
    if (!printable.test(k)) return `metadata key "${k}" contains non-printable-ASCII characters`;
    if (!printable.test(v)) return `metadata value for key "${k}" contains non-printable-ASCII characters`;
    total += METADATA_PREFIX.length + k.length + v.length;
  }
  if (total > MAX_TOTAL_LEN) return `total metadata size ${total} exceeds ${MAX_TOTAL_LEN} bytes`;
  return undefined;
}

/** Decodes getfattr's `\ooo` escapes in file names (bytes, then UTF-8). */
export function unescapeOctal(text: string): string {
  if (!text.includes('\\')) return text;
  const bytes: number[] = [];
  const raw = Buffer.from(text, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x5c && i + 3 < raw.length && /^[0-7]{3}$/.test(raw.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(parseInt(raw.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(c);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Parses `getfattr -d -e hex --absolute-names` output into path → metadata (prefix stripped). */
export function parseGetfattrDump(output: string): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of output.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      result.set(unescapeOctal(line.slice('# file: '.length)), current);
      continue;
    }
    const eq = line.indexOf('=');
    if (!current || eq < 0 || !line.startsWith(METADATA_PREFIX)) continue;
    const key = unescapeOctal(line.slice(METADATA_PREFIX.length, eq));
    const value = line.slice(eq + 1);
    const decoded = value.startsWith('0x')
      ? Buffer.from(value.slice(2), 'hex')
      : Buffer.from(value.replace(/^"|"$/g, ''), 'utf8');
    const text = decoded.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(decoded)) current[key] = text;
  }
  for (const [path, md] of result) if (Object.keys(md).length === 0) result.delete(path);
  return result;
}

function run(file: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number; missing: boolean }> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null;
      const missing = e?.code === 'ENOENT';
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr), code, missing });
    });
  });
}

/** setfattr's failure; `code` ENOTSUP when the filesystem refuses user xattrs. */
function setfattrError(what: string, stderr: string): Error {
  const err = new Error(`${what}: ${stderr.trim()}`) as NodeJS.ErrnoException;
  if (/Operation not supported/.test(stderr)) err.code = 'ENOTSUP';
  return err;
}

/** No setfattr (a lean template without the attr package): as unsupported as a refusing filesystem. */
function setfattrMissing(): Error {
  return Object.assign(new Error('setfattr not found: install the attr package to store file metadata'), { code: 'ENOTSUP' });
}

export function createXattrMetadataStore(logger: Logger, tools = { getfattr: 'getfattr', setfattr: 'setfattr' }): MetadataStore {
  let warned = false;
  const warnMissing = (): void => {
    if (warned) return;
    warned = true;
    logger.warn('getfattr/setfattr not found (Debian package attr): file metadata unavailable');
  };
  const read = async (paths: string[]): Promise<Map<string, Record<string, string>>> => {
    if (paths.length === 0) return new Map();
    const out = new Map<string, Record<string, string>>();
    for (let i = 0; i < paths.length; i += 500) {
      const batch = paths.slice(i, i + 500);
      const r = await run(tools.getfattr, ['--absolute-names', '-d', '-e', 'hex', '-m', '^user\\.e2b\\.', '--', ...batch]);
      if (r.missing) {
        warnMissing();
        return out;
      }
      for (const [p, md] of parseGetfattrDump(r.stdout)) out.set(p, md);
    }
    return out;
  };
  return {
    read,
    async replace(path, metadata) {
      const existing = (await read([path])).get(path) ?? {};
      for (const key of Object.keys(existing)) {
        if (key in metadata) continue;
        const r = await run(tools.setfattr, ['-x', METADATA_PREFIX + key, '--', path]);
        if (r.missing) throw setfattrMissing();
        if (r.code !== 0) throw setfattrError(`error removing metadata '${key}'`, r.stderr);
      }
      for (const [key, value] of Object.entries(metadata)) {
        const hex = `0x${Buffer.from(value, 'utf8').toString('hex')}`;
        const r = await run(tools.setfattr, ['-n', METADATA_PREFIX + key, '-v', value === '' ? '""' : hex, '--', path]);
        if (r.missing) throw setfattrMissing();
        if (r.code !== 0) throw setfattrError(`error writing metadata '${key}'`, r.stderr);
      }
    },
  };
}
