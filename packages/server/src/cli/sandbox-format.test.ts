import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SandboxInfo } from 'e2b';
import { formatAge, formatMetadata, formatProgress, formatTable, sandboxDetails, sandboxTable } from './sandbox-format.js';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');

function info(id: string, startedAgoMs: number, extra: Partial<SandboxInfo> = {}): SandboxInfo {
  return {
    sandboxId: id,
    templateId: 'bd3e81e9f448e88e',
    name: 'base',
    metadata: {},
    startedAt: new Date(NOW - startedAgoMs),
    endAt: new Date(NOW + 300_000),
    state: 'running',
    cpuCount: 2,
    memoryMB: 512,
    envdVersion: '0.6.4',
    ...extra,
  };
}

describe('sandbox CLI formatting', () => {
  it('aligns table columns on the widest cell, two spaces apart, the last column unpadded', () => {
    assert.equal(formatTable(['A', 'BB', 'C'], [['long', 'x', 'end'], ['s', 'yyy', '']]), ['A     BB   C', 'long  x    end', 's     yyy'].join('\n'));
  });

  it('keeps a row on one line whatever the cells hold', () => {
    assert.equal(formatTable(['K', 'V'], [['a\tb', 'c\nd']]), 'K    V\na b  c d');
  });

  it('gives ages in their two largest units', () => {
    assert.equal(formatAge(-5), '0s');
    assert.equal(formatAge(45_900), '45s');
    assert.equal(formatAge(60_000), '1m');
    assert.equal(formatAge(192_000), '3m12s');
    assert.equal(formatAge((5 * 60 + 2) * 60_000), '5h2m');
    assert.equal(formatAge(51 * 3600_000), '2d3h');
  });

  it('writes metadata as sorted k=v, - when none', () => {
    assert.equal(formatMetadata({ z: '1', a: 'x=y' }), 'a=x=y,z=1');
    assert.equal(formatMetadata({}), '-');
  });

  it('lists sandboxes oldest first with template, state, age, limits and metadata', () => {
    const table = sandboxTable([info('inew', 5_000, { metadata: { job: 'b' } }), info('iold', 3_600_000, { name: undefined, cpuCount: 4, memoryMB: 1024 })], NOW);
    const lines = table.split('\n');
    assert.match(lines[0]!, /^ID\s+TEMPLATE\s+STATE\s+AGE\s+CPU\s+MEMORY\s+METADATA$/);
    assert.match(lines[1]!, /^iold\s+bd3e81e9f448e88e\s+running\s+1h\s+4\s+1024 MiB\s+-$/);
    assert.match(lines[2]!, /^inew\s+base\s+running\s+5s\s+2\s+512 MiB\s+job=b$/);
  });

  it('details a sandbox one field per line', () => {
    const text = sandboxDetails(info('ione', 90_000, { allowInternetAccess: false, metadata: { a: '1' } }), NOW);
    assert.match(text, /^id\s+ione$/m);
    assert.match(text, /^template\s+base \(bd3e81e9f448e88e\)$/m);
    assert.match(text, /^started\s+2026-01-01T11:58:30.000Z \(1m30s ago\)$/m);
    assert.match(text, /^ends\s+2026-01-01T12:05:00.000Z \(in 5m\)$/m);
    assert.match(text, /^internet\s+denied$/m);
    assert.match(text, /^metadata\s+a=1$/m);
  });

  it('shows copy progress in MiB with percentage and rate', () => {
    assert.equal(formatProgress('big', 10 * 1048576, 20 * 1048576, 2000), 'big  10.0/20.0 MiB  50%  5.0 MiB/s');
    assert.equal(formatProgress('empty', 0, 0, 0), 'empty  0.0/0.0 MiB  100%  0.0 MiB/s');
  });
});
