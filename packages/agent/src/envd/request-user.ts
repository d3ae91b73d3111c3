import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { UserDb, UserInfo } from '../users/user-db.js';

/** Username from `Authorization: Basic base64("<user>:")`, or undefined when absent / not Basic. */
export function basicAuthUser(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+(\S+)\s*$/i.exec(header);
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(0, colon);
}

/** The user an RPC acts as: the Basic-auth username, else the sandbox default. Unknown → UNAUTHENTICATED. */
export function requestUser(authorization: string | null | undefined, users: UserDb, defaultUser: string): UserInfo {
  const name = basicAuthUser(authorization);
  if (name !== undefined) {
    const u = users.lookup(name);
    if (!u) throw new SandboxdError(ErrorCode.UNAUTHENTICATED, `invalid username: '${name}'`);
    return u;
  }
  const u = users.lookup(defaultUser);
  if (!u) throw new SandboxdError(ErrorCode.UNAUTHENTICATED, `invalid default user: '${defaultUser}'`);
  return u;
}
