/**
 * The check of the daemon's own routes (`POST /adopt`, `GET /template-ready`): only
 * `Authorization: Bearer <daemon secret>` (`AgentConfig.loopbackSecret`) opens them (401 without
 * it, 403 with a wrong one, compared in constant time); without a daemon secret they answer 404.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Adopt, ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { Logger } from '../logger.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * A check for the secret `secret()` gives (read at each request: the adopt of a sandbox restored
 * from an image gives it its own): throws the route's SandboxdError unless the header carries it.
 */
export function daemonSecretCheck(secret: () => string | undefined, route: string, logger: Logger): (authorization: string | undefined) => void {
  return (presented) => {
    const current = secret();
    const expected = current === undefined ? undefined : digest(Adopt.authorization(current));
    if (expected === undefined) throw new SandboxdError(ErrorCode.NOT_FOUND, `${route} is off in this sandbox`);
    if (presented === undefined || !presented.startsWith('Bearer ')) {
      throw new SandboxdError(ErrorCode.UNAUTHENTICATED, `${route} is for the daemon only`);
    }
    if (!timingSafeEqual(digest(presented), expected)) {
      logger.warn(`${route} with a wrong daemon secret`);
      throw new SandboxdError(ErrorCode.FORBIDDEN, `${route} is for the daemon only`);
    }
  };
}
