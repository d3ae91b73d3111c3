import { Hono } from 'hono';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { hasScope } from '../../auth/scopes.js';
import type { UsageMeter } from '../../usage/usage-meter.js';
import { principalOf } from './auth.js';

/** A time of the query: unix seconds or an RFC 3339 / ISO 8601 date; BAD_REQUEST naming it otherwise. */
export function parseTime(name: string, raw: string | null, fallbackSec: number): number {
  if (raw === null || raw === '') return fallbackSec;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `query parameter "${name}" must be unix seconds or an RFC 3339 time, got "${raw}"`);
  return ms / 1000;
}

/**
 * `GET /usage?start=&end=&keyId=`: usage per API key over [start, end) at minute granularity
 * (default: all of it). Admin keys see every key (or `keyId`'s); any other key its own only.
 */
export function usageRoutes(opts: { usage: UsageMeter; keyName?: (keyId: string) => string | undefined }): Hono {
  const app = new Hono();
  app.get('/usage', (c) => {
    const params = new URL(c.req.url).searchParams;
    const principal = principalOf(c);
    const nowSec = Date.now() / 1000;
    const startSec = parseTime('start', params.get('start'), 0);
    const endSec = parseTime('end', params.get('end'), nowSec + 60);
    if (endSec <= startSec) throw new SandboxdError(ErrorCode.BAD_REQUEST, `"end" (${endSec}) must be after "start" (${startSec})`);
    let keyId = params.get('keyId') ?? undefined;
    if (!hasScope(principal.scopes, 'admin')) {
      if (keyId !== undefined && keyId !== principal.keyId) {
        throw new SandboxdError(ErrorCode.FORBIDDEN, 'this API key lacks the scope "admin" (usage of other keys); leave out keyId for its own usage');
      }
      keyId = principal.keyId;
    }
    const usage = opts.usage.query({ startSec, endSec, ...(keyId !== undefined ? { keyId } : {}) });
    return c.json(
      {
        start: new Date(startSec * 1000).toISOString(),
        end: new Date(endSec * 1000).toISOString(),
        usage: usage.map((u) => ({ ...u, keyName: u.keyId === null ? null : (opts.keyName?.(u.keyId) ?? null) })),
      },
      200,
    );
  });
  return app;
}
