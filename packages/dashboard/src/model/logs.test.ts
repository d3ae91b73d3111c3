import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LogEntry } from '../api/types.js';
import { appendLogs, emptyLogState, formatFields } from './logs.js';

const entry = (ms: number, message: string, fields: Record<string, string> = {}): LogEntry => ({ timestamp: new Date(ms).toISOString(), level: 'info', message, fields });

describe('appendLogs', () => {
  it('moves the cursor to the newest entry and skips the entries a cursor poll returns again', () => {
    let s = appendLogs(emptyLogState(), [entry(1000, 'a'), entry(2000, 'b'), entry(2000, 'c')]);
    assert.equal(s.cursorMs, 2000);
    // The next poll starts at 2000 inclusive: b and c come again, d is new at the same millisecond.
    s = appendLogs(s, [entry(2000, 'b'), entry(2000, 'c'), entry(2000, 'd'), entry(3000, 'e')]);
    assert.deepEqual(s.entries.map((e) => e.message), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(s.cursorMs, 3000);
    s = appendLogs(s, [entry(3000, 'e')]);
    assert.equal(s.entries.length, 5);
  });

  it('tells entries apart by their fields too, and ignores older and undated ones', () => {
    let s = appendLogs(emptyLogState(), [entry(1000, 'process started', { pid: '1' })]);
    s = appendLogs(s, [entry(1000, 'process started', { pid: '1' }), entry(1000, 'process started', { pid: '2' }), entry(500, 'old'), { ...entry(0, 'x'), timestamp: 'nope' }]);
    assert.deepEqual(s.entries.map((e) => e.fields['pid']), ['1', '2']);
  });

  it('returns the same state when nothing is new, and keeps only the newest max entries', () => {
    const s = appendLogs(emptyLogState(), [entry(1, 'a')]);
    assert.equal(appendLogs(s, []), s);
    const capped = appendLogs(emptyLogState(), [entry(1, 'a'), entry(2, 'b'), entry(3, 'c')], 2);
    assert.deepEqual(capped.entries.map((e) => e.message), ['b', 'c']);
  });

  it('formats fields sorted by key', () => {
    assert.equal(formatFields({ pid: '7', cmd: 'echo hi' }), 'cmd=echo hi pid=7');
    assert.equal(formatFields({}), '');
  });
});
