import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { SandboxRecord } from './sandbox-record.js';

/** States a list request can ask for. */
export type ListState = 'running' | 'paused';

/** A parsed list request (`GET /v2/sandboxes`). */
export interface ListQuery {
  metadata: Record<string, string>;
  states: ListState[];
  /**
   * Inclusive lower bound in epoch ms: E2B returns "sandboxes started at or after this
   * timestamp". E2B has no `startedBefore` parameter; like any unknown parameter it is ignored.
   */
  startedAfter: number | undefined;
  template: string | undefined;
  order: 'asc' | 'desc';
  limit: number;
  nextToken: string | undefined;
}

export const MAX_LIST_LIMIT = 100;

const bad = (message: string) => new SandboxdError(ErrorCode.BAD_REQUEST, message);

interface Cursor {
  startedAt: number;
  sandboxId: string;
}

const encodeCursor = (r: SandboxRecord): string =>
  Buffer.from(`${r.startedAt}:${r.sandboxId}`, 'utf8').toString('base64url');

function decodeCursor(token: string): Cursor {
  const [at, id] = Buffer.from(token, 'base64url').toString('utf8').split(':');
  const startedAt = Number(at);
  if (!Number.isSafeInteger(startedAt) || id === undefined || id === '') {
    throw bad('nextToken is not a token this server returned; start over without nextToken');
  }
  return { startedAt, sandboxId: id };
}

/** Order key: start time, then id, so pages are stable. */
const compare = (a: Cursor, b: Cursor): number =>
  a.startedAt - b.startedAt || (a.sandboxId < b.sandboxId ? -1 : a.sandboxId > b.sandboxId ? 1 : 0);

/** Filters, orders and pages the running and paused sandboxes; `nextToken` is set when more remain. */
export function applyListQuery(
  running: SandboxRecord[],
  query: ListQuery,
): { items: SandboxRecord[]; nextToken: string | undefined } {
  const direction = query.order === 'asc' ? 1 : -1;
  const after = query.nextToken === undefined ? undefined : decodeCursor(query.nextToken);
  const matching = running
    .filter((r) => (r.state === 'running' || r.state === 'paused') && query.states.includes(r.state))
    .filter((r) => Object.entries(query.metadata).every(([k, v]) => r.metadata[k] === v))
    .filter((r) => query.startedAfter === undefined || r.startedAt >= query.startedAfter)
    .filter((r) => query.template === undefined || r.templateId === query.template || r.templateAlias === query.template)
    .sort((a, b) => direction * compare(a, b))
    .filter((r) => after === undefined || direction * compare(r, after) > 0);
  const items = matching.slice(0, query.limit);
  const last = items[items.length - 1];
  return { items, nextToken: matching.length > items.length && last !== undefined ? encodeCursor(last) : undefined };
}
