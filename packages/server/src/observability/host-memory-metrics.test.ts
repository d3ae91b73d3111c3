import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseMeminfo } from './host-memory-metrics.js';

describe('parseMeminfo', () => {
  it('reads total, available and committed in bytes', () => {
    const text = 'MemTotal:        8000000 kB\nMemFree:  100 kB\nMemAvailable:    4000000 kB\nCommitted_AS:   12000000 kB\n';
    assert.deepEqual(parseMeminfo(text), { total: 8000000 * 1024, available: 4000000 * 1024, committed: 12000000 * 1024 });
    assert.deepEqual(parseMeminfo('MemTotal: 1 kB\nOther: 2 kB\n'), { total: 1024 });
  });
});
