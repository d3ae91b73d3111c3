import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatAge, formatBytes, formatCommand, formatPercent } from './format.js';

describe('format', () => {
  it('ages in the two largest units', () => {
    assert.equal(formatAge(-5), '0s');
    assert.equal(formatAge(59_999), '59s');
    assert.equal(formatAge(65_000), '1m 05s');
    assert.equal(formatAge(2 * 3600_000 + 3 * 60_000), '2h 03m');
    assert.equal(formatAge(3 * 86_400_000 + 4 * 3600_000), '3d 4h');
  });

  it('bytes in binary units with three significant digits', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(12.34 * 1024 * 1024), '12.3 MiB');
    assert.equal(formatBytes(512 * 1024 * 1024), '512 MiB');
    assert.equal(formatBytes(Number.NaN), '–');
    assert.equal(formatBytes(-1), '–');
  });

  it('percent with one decimal', () => {
    assert.equal(formatPercent(12.345), '12.3%');
    assert.equal(formatPercent(Number.POSITIVE_INFINITY), '–');
  });

  it('commands quoted as a shell would need them', () => {
    assert.equal(formatCommand('/bin/bash', ['-l', '-c', 'sleep 600']), "/bin/bash -l -c 'sleep 600'");
    assert.equal(formatCommand('echo', ["it's", '']), `echo 'it'\\''s' ''`);
    assert.equal(formatCommand('ls'), 'ls');
  });
});
