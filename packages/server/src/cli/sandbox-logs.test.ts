import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advanceCursor, formatLogEntry, type LogEntry } from './sandbox-logs.js';

const entry = (timestamp: string, message: string, fields: Record<string, string> = {}): LogEntry => ({ timestamp, level: 'info', message, fields });
const T1 = '2026-01-01T00:00:01.000Z';
const T2 = '2026-01-01T00:00:02.000Z';

describe('sandbox logs cursor', () => {
  it('takes everything on the first page and moves to the newest timestamp', () => {
    const { fresh, cursor } = advanceCursor([entry(T1, 'a'), entry(T2, 'b'), entry(T2, 'c')], { ms: undefined, seenAtMs: 0 });
    assert.deepEqual(fresh.map((e) => e.message), ['a', 'b', 'c']);
    assert.deepEqual(cursor, { ms: Date.parse(T2), seenAtMs: 2 });
  });

  it('skips the entries already printed at the inclusive cursor, even identical ones, and keeps later ones', () => {
    const start = { ms: Date.parse(T2), seenAtMs: 2 };
    const { fresh, cursor } = advanceCursor([entry(T2, 'same'), entry(T2, 'same'), entry(T2, 'same'), entry('2026-01-01T00:00:03.000Z', 'd')], start);
    assert.deepEqual(fresh.map((e) => e.message), ['same', 'd']);
    assert.deepEqual(cursor, { ms: Date.parse('2026-01-01T00:00:03.000Z'), seenAtMs: 1 });
  });

  it('counts new entries at the same millisecond on top of those seen', () => {
    const { fresh, cursor } = advanceCursor([entry(T2, 'b'), entry(T2, 'new')], { ms: Date.parse(T2), seenAtMs: 1 });
    assert.deepEqual(fresh.map((e) => e.message), ['new']);
    assert.deepEqual(cursor, { ms: Date.parse(T2), seenAtMs: 2 });
  });

  it('leaves the cursor alone when nothing is new', () => {
    const start = { ms: Date.parse(T1), seenAtMs: 1 };
    assert.deepEqual(advanceCursor([entry(T1, 'a')], start), { fresh: [], cursor: start });
    assert.deepEqual(advanceCursor([], start), { fresh: [], cursor: start });
  });

  it('formats an entry as time, level, message and fields', () => {
    assert.equal(formatLogEntry(entry(T1, 'process started', { pid: '12', user: 'user' })), `${T1}  info   process started  pid=12 user=user`);
    assert.equal(formatLogEntry({ ...entry(T1, 'boom'), level: 'error' }), `${T1}  error  boom`);
  });
});
