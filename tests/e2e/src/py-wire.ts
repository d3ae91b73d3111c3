/**
 * The Python `e2b` SDK's requests, built byte for byte as its sources build them (e2b 2.45.1,
 * e2b-code-interpreter 2.9.1): httpx query strings and multipart bodies, the generated REST
 * client's headers, connect-python's Connect framing. PyPI is not reachable here, so the Python
 * SDK itself cannot run; these are the requests it sends, written from its sources.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ENVD_PORT } from '@sandboxd/protocol';

export const PY_SDK_VERSION = '2.45.1';

/** `e2b.api.metadata.default_headers` plus `ConnectionConfig`'s User-Agent (REST API only). */
export function pyApiHeaders(apiKey: string): Record<string, string> {
  return {
    lang: 'python',
    lang_version: '3.12.3',
    package_version: PY_SDK_VERSION,
    publisher: 'e2b',
    sdk_runtime: 'python',
    system: 'Linux',
    'User-Agent': `e2b-python-sdk/${PY_SDK_VERSION}`,
    'X-API-KEY': apiKey,
    // What httpx adds on its own.
    Accept: '*/*',
    'Accept-Encoding': 'gzip, deflate',
  };
}

/** `ConnectionConfig.sandbox_headers` after create/connect: sent on every envd request. */
export function pySandboxHeaders(sandboxId: string, accessToken: string | undefined): Record<string, string> {
  return {
    'User-Agent': `e2b-python-sdk/${PY_SDK_VERSION}`,
    'E2b-Sandbox-Id': sandboxId,
    'E2b-Sandbox-Port': String(ENVD_PORT),
    ...(accessToken === undefined ? {} : { 'X-Access-Token': accessToken }),
  };
}

const ALWAYS_SAFE = /[A-Za-z0-9_.\-~]/;

/** Python's `urllib.parse.quote(s, safe)` (`plus` → `quote_plus`): UTF-8 bytes, upper-case escapes. */
export function pyQuote(s: string, safe = '/', plus = false): string {
  let out = '';
  for (const ch of s) {
    if (ALWAYS_SAFE.test(ch) || safe.includes(ch)) out += ch;
    else if (plus && ch === ' ') out += '+';
    else for (const byte of Buffer.from(ch, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `urllib.parse.urlencode(pairs)` (quote_plus, safe ''), or with `quote_via=quote`. */
export function pyUrlencode(pairs: Record<string, string>, quoteVia: 'quote_plus' | 'quote' = 'quote_plus'): string {
  const plus = quoteVia === 'quote_plus';
  return Object.entries(pairs)
    .map(([k, v]) => `${pyQuote(k, '', plus)}=${pyQuote(v, '', plus)}`)
    .join('&');
}

/** httpx's `params=`: str(QueryParams) is urlencode of the items; `None`/unset values are dropped before. */
export function httpxQuery(params: Record<string, string | number | boolean | undefined>): string {
  const pairs: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    pairs[k] = typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
  }
  const q = pyUrlencode(pairs);
  return q === '' ? '' : `?${q}`;
}

/** `datetime.astimezone().isoformat()` in UTC: microseconds only when non-zero, `+00:00` offset. */
export function pyIsoformat(date: Date, microsecondsExtra = 0): string {
  const base = date.toISOString().slice(0, 19);
  const micros = date.getUTCMilliseconds() * 1000 + microsecondsExtra;
  return `${base}${micros === 0 ? '' : `.${String(micros).padStart(6, '0')}`}+00:00`;
}

/** The `SandboxPaginator` metadata filter: each key and value `quote`d, then `urlencode`d. */
export function pyMetadataFilter(metadata: Record<string, string>): string {
  const quoted: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) quoted[pyQuote(k)] = pyQuote(v);
  return pyUrlencode(quoted);
}

/** The HTML5 form escaping httpx applies to multipart parameter values. */
const formParam = (name: string, value: string): string =>
  // eslint-disable-next-line no-control-regex -- the control characters are what httpx escapes
  `${name}="${value.replace(/\\/g, '\\\\').replace(/"/g, '%22').replace(/[\x00-\x1a\x1c-\x1f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)}"`;

/** `mimetypes.guess_type` for the few suffixes the tests use; httpx falls back to octet-stream. */
function guessType(filename: string): string {
  if (filename.endsWith('.txt')) return 'text/plain';
  if (filename.endsWith('.json')) return 'application/json';
  return 'application/octet-stream';
}

/** httpx's `files=[("file", (filename, data)), ...]` body: random 32-hex boundary, CRLF framing. */
export function httpxMultipart(files: Array<{ filename: string; data: string | Uint8Array }>): { body: Buffer; contentType: string } {
  const boundary = randomBytes(16).toString('hex');
  const parts: Buffer[] = [];
  for (const file of files) {
    const head = `--${boundary}\r\nContent-Disposition: form-data; ${formParam('name', 'file')}; ${formParam('filename', file.filename)}\r\nContent-Type: ${guessType(file.filename)}\r\n\r\n`;
    parts.push(Buffer.from(head, 'utf8'), Buffer.from(file.data), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** `e2b.sandbox.signature.get_signature`: v1_ + unpadded standard base64 of sha256. */
export function pySignature(
  path: string,
  operation: 'read' | 'write',
  user: string | undefined,
  token: string,
  expiration?: number,
): string {
  const raw = `${path}:${operation}:${user ?? ''}:${token}${expiration === undefined ? '' : `:${expiration}`}`;
  return `v1_${createHash('sha256').update(raw, 'utf8').digest('base64').replace(/=+$/, '')}`;
}

/** `SandboxBase._file_url`: `urlencode(query, quote_via=quote)` (so `/` is escaped too). */
export function pyFileUrl(sandboxUrl: string, query: Record<string, string>): string {
  return `${sandboxUrl}/files?${pyUrlencode(query, 'quote')}`;
}

/** `authentication_header(version, user)`: Basic base64("user:"), none when no user is given. */
export function pyAuthHeader(user: string | undefined): Record<string, string> {
  return user ? { Authorization: `Basic ${Buffer.from(`${user}:`).toString('base64')}` } : {};
}
