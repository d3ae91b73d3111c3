import type { LogEntry } from '../api/types.js';

/** The log entries shown so far, and where the next poll starts. */
export interface LogState {
  entries: LogEntry[];
  /** Keys of the entries at the newest timestamp: the next poll (inclusive cursor) returns them again. */
  edge: Set<string>;
  /** Newest entry time, ms; undefined before the first entry. */
  cursorMs: number | undefined;
}

export const emptyLogState = (): LogState => ({ entries: [], edge: new Set(), cursorMs: undefined });

const keyOf = (e: LogEntry) => `${e.timestamp}\u0000${e.level}\u0000${e.message}\u0000${JSON.stringify(e.fields)}`;

/**
 * Appends a poll's entries (oldest first, from `cursorMs` inclusive) without repeating those seen at
 * the cursor's millisecond, and keeps at most `max` entries (the newest).
 */
export function appendLogs(state: LogState, fresh: readonly LogEntry[], max = 2000): LogState {
  const added: LogEntry[] = [];
  let cursorMs = state.cursorMs;
  let edge = state.edge;
  for (const entry of fresh) {
    const at = Date.parse(entry.timestamp);
    if (Number.isNaN(at) || (cursorMs !== undefined && at < cursorMs)) continue;
    const key = keyOf(entry);
    if (at === cursorMs && edge.has(key)) continue;
    if (cursorMs === undefined || at > cursorMs) {
      cursorMs = at;
      edge = new Set();
    }
    edge.add(key);
    added.push(entry);
  }
  if (added.length === 0) return state;
  const entries = [...state.entries, ...added];
  return { entries: entries.length > max ? entries.slice(entries.length - max) : entries, edge, cursorMs };
}

/** `key=value` pairs of an entry's fields, in a stable order, for one line of text. */
export function formatFields(fields: Record<string, string>): string {
  return Object.keys(fields)
    .sort()
    .map((k) => `${k}=${fields[k]}`)
    .join(' ');
}
