/** Parsing of `GET /v2/sandboxes` query parameters (E2B's encodings) into the domain's ListQuery. */
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { MAX_LIST_LIMIT, type ListQuery, type ListState } from '../../sandboxes/list-query.js';

const bad = (message: string) => new SandboxdError(ErrorCode.BAD_REQUEST, message);

/** Go's url.QueryUnescape: `+` is a space, `%XX` escapes are decoded. */
function queryUnescape(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw bad(`metadata filter is not valid percent-encoding: ${JSON.stringify(value)}`);
  }
}

/**
 * Decodes the `metadata` list filter as E2B does: the (already query-decoded) value is unescaped
 * once more as a whole, split on `&` and `=`, and each key and value unescaped again. This accepts
 * the triple encoding of the JS SDK and the double encoding of the Python SDK.
 */
export function parseMetadataFilter(value: string | undefined): Record<string, string> {
  const filter: Record<string, string> = {};
  if (value === undefined || value === '') return filter;
  for (const pair of queryUnescape(value).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) throw bad(`metadata filter must be key=value pairs joined by "&", got ${JSON.stringify(pair)}`);
    filter[queryUnescape(pair.slice(0, eq))] = queryUnescape(pair.slice(eq + 1));
  }
  return filter;
}

/** Accepts `state=running,paused` (JS) and `state=running&state=paused` (Python). */
export function parseStates(values: string[]): ListState[] {
  const states = values.flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  if (states.length === 0) return ['running', 'paused'];
  for (const state of states) {
    if (state !== 'running' && state !== 'paused') {
      throw bad(`state filter must be "running" or "paused", got ${JSON.stringify(state)}`);
    }
  }
  return [...new Set(states as ListState[])];
}

/**
 * `startedAfter` in epoch ms, rounded up when it has digits past the millisecond (Python's
 * `isoformat()` sends microseconds, E2B keeps nanoseconds): start times are whole milliseconds,
 * so `startedAt >= ceil(T)` is exactly E2B's inclusive `startedAt >= T`. `Date.parse` truncates.
 */
export function parseStartedAfter(value: string): number {
  const ms = Date.parse(value);
  const fraction = /T[\d:]+[.,](\d+)/.exec(value)?.[1] ?? '';
  return /[1-9]/.test(fraction.slice(3)) ? ms + 1 : ms;
}

/** Parses the list query parameters; throws BAD_REQUEST naming the offending parameter. */
export function parseListQuery(params: URLSearchParams): ListQuery {
  const limitRaw = params.get('limit');
  let limit = MAX_LIST_LIMIT;
  if (limitRaw !== null && limitRaw !== '') {
    limit = Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw bad(`limit must be an integer from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(limitRaw)}`);
    }
  }
  const order = params.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw bad(`order must be "asc" or "desc", got ${JSON.stringify(order)}`);
  const startedAfterRaw = params.get('startedAfter');
  let startedAfter: number | undefined;
  if (startedAfterRaw !== null && startedAfterRaw !== '') {
    startedAfter = parseStartedAfter(startedAfterRaw);
    if (Number.isNaN(startedAfter)) throw bad(`startedAfter must be an ISO-8601 date-time, got ${JSON.stringify(startedAfterRaw)}`);
  }
  return {
    metadata: parseMetadataFilter(params.get('metadata') ?? undefined),
    states: parseStates(params.getAll('state')),
    startedAfter,
    template: params.get('template') || undefined,
    order,
    limit,
    nextToken: params.get('nextToken') || undefined,
  };
}
