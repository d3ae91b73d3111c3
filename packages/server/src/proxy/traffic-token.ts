import { createHash, timingSafeEqual } from 'node:crypto';
import { ENVD_PORT } from '@sandboxd/protocol';
import type { SandboxRecord } from '../sandboxes/sandbox-record.js';
import { trafficDenied } from '../util/e2b-error-bodies.js';

/** The header E2B's proxy reads a sandbox's traffic access token from. */
export const TRAFFIC_TOKEN_HEADER = 'e2b-traffic-access-token';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * E2B's check for a sandbox created with `allowPublicTraffic: false`: every port but envd's
 * (which has its own access token) needs the sandbox's traffic access token, compared in
 * constant time; a missing or wrong one is 403 with E2B's body. undefined: the request may pass.
 */
export function trafficTokenFailure(
  record: Pick<SandboxRecord, 'sandboxId' | 'ingress'>,
  port: number,
  presented: string | string[] | undefined,
): { status: number; body: string } | undefined {
  const token = record.ingress?.trafficAccessToken ?? null;
  if (token === null || port === ENVD_PORT) return undefined;
  const value = Array.isArray(presented) ? presented[0] : presented;
  const deny = (message: string) => trafficDenied(record.sandboxId, message);
  if (value === undefined || value === '') {
    return deny(`Sandbox is secured with traffic access token. Token header '${TRAFFIC_TOKEN_HEADER}' is missing`);
  }
  if (!timingSafeEqual(digest(value), digest(token))) {
    return deny(`Sandbox is secured with traffic access token. Provided token in header '${TRAFFIC_TOKEN_HEADER}' is invalid`);
  }
  return undefined;
}
