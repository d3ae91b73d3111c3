import { Hono, type Context } from 'hono';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { MetricsSample } from '../../sandboxes/metrics-history.js';
import type { MetricsRangeQuery } from '../../sandboxes/metrics-range.js';
import type { MetricsSampler } from '../../sandboxes/metrics-sampler.js';

/** E2B's `maxItems` of `sandbox_ids` (and its handler's `maxSandboxMetricsCount`). */
export const MAX_METRICS_SANDBOX_IDS = 100;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** E2B's 400 for a query parameter its OpenAPI validator rejects (the first line of kin-openapi's error). */
const invalidParameter = (name: string, reason: string) =>
  new SandboxdError(ErrorCode.BAD_REQUEST, `validation error: error in openapi3filter.RequestError: parameter "${name}" in query has an error: ${reason}`);

/** An optional `integer` (int64, minimum 0) query parameter, validated as E2B's spec does. */
export function parseUnixSeconds(params: URLSearchParams, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^[+-]?\d+$/.test(raw)) throw invalidParameter(name, `value ${raw}: an invalid integer: invalid syntax`);
  const big = BigInt(raw);
  if (big > INT64_MAX || big < INT64_MIN) throw invalidParameter(name, `value ${raw}: an invalid integer: value out of range`);
  if (big < 0n) throw invalidParameter(name, 'number must be at least 0');
  // Past 2^53 a second count is far beyond the latest time E2B accepts; the range check rejects it.
  return Number(big);
}

/** `start`/`end` of `GET /sandboxes/{id}/metrics`. */
export function parseMetricsRange(params: URLSearchParams): MetricsRangeQuery {
  const startSec = parseUnixSeconds(params, 'start');
  const endSec = parseUnixSeconds(params, 'end');
  return { ...(startSec !== undefined ? { startSec } : {}), ...(endSec !== undefined ? { endSec } : {}) };
}

/**
 * E2B's sandbox id check (`utils.ShortID`): an optional `-<clientID>` suffix is dropped, the rest
 * must be lowercase letters and digits; 400 "Invalid sandbox ID" otherwise.
 */
export function shortSandboxId(id: string): string {
  const parts = id.split('-');
  const short = parts.length === 2 ? parts[0]! : id;
  if (parts.length > 2 || !/^[a-z0-9]+$/.test(short)) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'Invalid sandbox ID');
  return short;
}

/** `sandbox_ids` of `GET /sandboxes/metrics`: required, comma-separated, at most 100, unique; short ids. */
export function parseSandboxIds(params: URLSearchParams): string[] {
  const raw = params.getAll('sandbox_ids');
  if (raw.length === 0) throw invalidParameter('sandbox_ids', 'value is required but missing');
  const ids = raw.join(',').split(',');
  if (ids.length > MAX_METRICS_SANDBOX_IDS) throw invalidParameter('sandbox_ids', `maximum number of items is ${MAX_METRICS_SANDBOX_IDS}`);
  if (new Set(ids).size !== ids.length) throw invalidParameter('sandbox_ids', 'duplicate items found');
  return ids.map(shortSandboxId);
}

/** `components.schemas.SandboxMetric`, all nine keys. */
export function toSandboxMetric(s: MetricsSample) {
  return {
    timestamp: new Date(s.at).toISOString(),
    timestampUnix: Math.floor(s.at / 1000),
    cpuCount: s.cpuCount,
    cpuUsedPct: s.cpuUsedPct,
    memUsed: s.memUsed,
    memTotal: s.memTotal,
    memCache: s.memCache,
    diskUsed: s.diskUsed,
    diskTotal: s.diskTotal,
  };
}

/**
 * `GET /sandboxes/metrics` and `GET /sandboxes/{sandboxID}/metrics`, answered from the sampler's
 * history as E2B answers from its metrics store: ids it has no samples of (unknown, ended) are
 * absent from the map and get `[]`, not 404. Mount before the `/sandboxes/:sandboxID` routes.
 */
export function metricsRoutes(opts: { sampler: MetricsSampler; visible?: (c: Context, sandboxId: string) => boolean }): Hono {
  const { sampler } = opts;
  /** Another key's sandbox is answered as an unknown id (no samples). */
  const visible = opts.visible ?? (() => true);
  const app = new Hono();

  app.get('/sandboxes/metrics', async (c) => {
    const ids = parseSandboxIds(new URL(c.req.url).searchParams).filter((id) => visible(c, id));
    const signal = c.req.raw.signal;
    const latest = await Promise.all(ids.map(async (id) => (await sampler.live(id, { signal })) ?? sampler.latest(id)));
    const sandboxes: Record<string, ReturnType<typeof toSandboxMetric>> = {};
    ids.forEach((id, i) => {
      const sample = latest[i];
      if (sample !== undefined) sandboxes[id] = toSandboxMetric(sample);
    });
    return c.json({ sandboxes }, 200);
  });

  app.get('/sandboxes/:sandboxID/metrics', async (c) => {
    const range = parseMetricsRange(new URL(c.req.url).searchParams);
    const id = shortSandboxId(c.req.param('sandboxID'));
    if (!visible(c, id)) return c.json([], 200);
    // A window reaching past the newest sample of a running sandbox ends with a reading of now.
    const reachesNow = range.endSec === undefined || range.endSec * 1000 > (sampler.latest(id)?.at ?? 0);
    const live = reachesNow ? await sampler.live(id, { signal: c.req.raw.signal }) : undefined;
    return c.json(sampler.query(id, range, live).map(toSandboxMetric), 200);
  });

  return app;
}
