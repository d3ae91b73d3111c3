import type { IncomingMessage } from 'node:http';
import { Headers, signatureMatches } from '@sandboxd/protocol';
import type { FileOperation } from '@sandboxd/protocol';
import { tokenMatches } from './token.js';

/** Routes envd serves without X-Access-Token (/files checks its own token-or-signature rule). */
const TOKEN_EXEMPT = new Set(['GET /health', 'GET /files', 'POST /files', 'POST /init']);

export const UNAUTHORIZED_MESSAGE =
  'unauthorized access, please provide a valid access token or method signing if supported';

function headerToken(req: IncomingMessage): string | undefined {
  const v = req.headers[Headers.accessToken];
  return Array.isArray(v) ? v[0] : v;
}

/** Whether a request may pass envd's access-token gate (every route but the exempt ones). */
export function passesTokenGate(method: string, pathname: string, presented: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  if (presented !== undefined && tokenMatches(presented, token)) return true;
  return TOKEN_EXEMPT.has(`${method} ${pathname}`);
}

/**
 * envd's /files rule: without a sandbox token anything goes; a header token must match; otherwise
 * a `signature` over path, operation, username (and expiration) is required and must not be expired.
 * Returns the 401 message, or undefined when allowed.
 */
export function fileAccessError(
  req: IncomingMessage,
  query: URLSearchParams,
  token: string | null,
  operation: FileOperation,
  nowSec = Math.floor(Date.now() / 1000),
): string | undefined {
  if (token === null) return undefined;
  const presented = headerToken(req);
  if (presented !== undefined && presented !== '') {
    return tokenMatches(presented, token) ? undefined : 'access token present in header but does not match';
  }
  const signature = query.get('signature');
  if (signature === null) return 'missing signature query parameter';
  const expRaw = query.get('signature_expiration');
  const expiration = expRaw === null ? undefined : Number(expRaw);
  if (expiration !== undefined && !Number.isInteger(expiration)) return 'invalid signature';
  const ok = signatureMatches(signature, {
    path: query.get('path') ?? '',
    operation,
    username: query.get('username') ?? '',
    accessToken: token,
    expiration,
  });
  if (!ok) return 'invalid signature';
  if (expiration !== undefined && expiration < nowSec) return 'signature is already expired';
  return undefined;
}
