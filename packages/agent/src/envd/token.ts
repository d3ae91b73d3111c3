import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (v: string): Buffer => createHash('sha256').update(v).digest();

/**
 * Whether a presented access token is the sandbox's: always when the sandbox has none, never when
 * none is presented. Compared in constant time over sha256 digests (no length leak either).
 */
export function tokenMatches(presented: string | undefined, token: string | null): boolean {
  if (token === null) return true;
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(token));
}
