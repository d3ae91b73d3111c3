import type { IncomingMessage } from 'node:http';
import type { FileOperation } from '@sandboxd/protocol';
import type { UserInfo } from '../../users/user-db.js';
import { PathResolveError, resolveUserPath } from '../../users/resolve-path.js';
import type { EnvdDeps } from '../deps.js';
import { fileAccessError } from '../access.js';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/** Checks /files access (token or signature) and returns the user named by `username` (or the default). */
export function authorizeFileRequest(req: IncomingMessage, query: URLSearchParams, deps: EnvdDeps, op: FileOperation): UserInfo {
  const denied = fileAccessError(req, query, deps.config.accessToken, op);
  if (denied) throw new SandboxdError(ErrorCode.UNAUTHENTICATED, denied);
  const name = query.get('username') || deps.config.defaultUser;
  const user = deps.users.lookup(name);
  if (!user) throw new SandboxdError(ErrorCode.UNAUTHENTICATED, `error looking up user '${name}': user: unknown user ${name}`);
  return user;
}

/** Resolves a /files path for the user; unresolvable paths are 400. */
export function resolveFilePath(path: string, user: UserInfo): string {
  // Node's fs throws synchronously-typed errors on NUL bytes; that is the client's bad path, not ours.
  if (path.includes('\0')) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'error resolving path: path contains a NUL byte');
  try {
    return resolveUserPath(path, user);
  } catch (err) {
    if (err instanceof PathResolveError) throw new SandboxdError(ErrorCode.BAD_REQUEST, `error resolving path: ${err.message}`);
    throw err;
  }
}
