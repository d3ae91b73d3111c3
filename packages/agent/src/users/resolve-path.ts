import { isAbsolute, join, resolve } from 'node:path';
import type { UserInfo } from './user-db.js';

/** Thrown for paths that cannot be resolved (e.g. `~other`); callers map it to invalid_argument. */
export class PathResolveError extends Error {
  override readonly name = 'PathResolveError';
}

/**
 * envd's path rules: `~` and `~/x` expand to the user's home, relative paths (and the empty path)
 * are joined to the home directory and normalised, absolute paths are used as given.
 */
export function resolveUserPath(path: string, user: Pick<UserInfo, 'name' | 'home'>): string {
  let p = path;
  if (p.startsWith('~')) {
    if (p.length > 1 && p[1] !== '/' && p[1] !== '\\') {
      throw new PathResolveError(
        `failed to expand path '${path}' for user '${user.name}': cannot expand user-specific home dir`,
      );
    }
    p = join(user.home, p.slice(1));
  }
  if (isAbsolute(p)) return p;
  return resolve(user.home, p);
}
