import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSandboxdError } from '@sandboxd/protocol';
import { formatQuota, keyChange, keyCreateOptions, keysTable } from './keys-args.js';
import { parseSince, usageTable } from './usage-cli.js';

describe('keys create flags', () => {
  it('without --scope: an admin key (scopes left to the store), no quota', () => {
    assert.deepEqual(keyCreateOptions({}), { quota: {} });
  });

  it('scopes and quotas from the flags', () => {
    assert.deepEqual(keyCreateOptions({ scope: ['sandboxes:create,sandboxes:use', 'sandboxes:read'], maxSandboxes: '1', maxTimeout: '600', maxMemoryMb: '2048' }), {
      scopes: ['sandboxes:create', 'sandboxes:use', 'sandboxes:read'],
      quota: { maxSandboxes: 1, maxTimeoutSec: 600, maxMemoryMB: 2048 },
    });
  });

  it('rejects bad numbers and unknown scopes naming the flag', () => {
    assert.throws(() => keyCreateOptions({ maxSandboxes: '0' }), (e) => isSandboxdError(e) && /--max-sandboxes/.test(e.message));
    assert.throws(() => keyCreateOptions({ maxTimeout: '1.5' }), (e) => isSandboxdError(e) && /--max-timeout/.test(e.message));
    assert.throws(() => keyCreateOptions({ scope: ['root'] }), (e) => isSandboxdError(e) && /unknown scope "root"/.test(e.message));
    assert.throws(() => keyCreateOptions({ scope: [','] }), (e) => isSandboxdError(e) && /names no scope/.test(e.message));
  });

  it('lists keys with scopes and quotas', () => {
    assert.equal(formatQuota({}), '-');
    assert.equal(formatQuota({ maxSandboxes: 2, maxTimeoutSec: 60, maxMemoryMB: 512 }), 'sandboxes=2,timeout=60s,memory=512MiB');
    const table = keysTable([{ id: 'key_1', name: 'ro', mask: 'e2b_1…2', createdAt: 'c', revokedAt: null, scopes: ['sandboxes:read'], quota: { maxSandboxes: 1 } }]);
    assert.equal(table, 'ID     NAME  KEY      SCOPES          QUOTA        CREATED  REVOKED\nkey_1  ro    e2b_1…2  sandboxes:read  sandboxes=1  c        -');
  });
});

describe('usage command', () => {
  it('--since takes a duration back or a date', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    assert.equal(parseSince('--since', '30m', now), now / 1000 - 1800);
    assert.equal(parseSince('--since', '7d', now), now / 1000 - 7 * 86_400);
    assert.equal(parseSince('--since', '2026-12-01T00:00:00Z', now), Date.parse('2026-12-01T00:00:00Z') / 1000);
    assert.throws(() => parseSince('--since', 'yesterday', now), (e) => isSandboxdError(e) && /--since takes/.test(e.message));
  });

  it('prints a row per key', () => {
    const text = usageTable({
      start: 's',
      end: 'e',
      usage: [{ keyId: 'key_1', keyName: 'ci', sandboxes: 2, sandboxSeconds: 12.34, cpuSeconds: 1.234, memoryGiBSeconds: 0.5, executions: 3, egressBytes: 1500, ingressBytes: 72000 }],
    });
    assert.equal(text.split('\n')[0], 'usage from s to e');
    assert.match(text, /key_1\s+ci\s+2\s+12\.3\s+1\.23\s+0\.500\s+3\s+1500\s+72000/);
  });
});

describe('keys update flags', () => {
  it('sets the limits given, lifts one given as 0, keeps the rest, and needs something to change', () => {
    assert.deepEqual(keyChange({ scope: ['sandboxes:read'], maxSandboxes: '3', maxTimeout: '0' }), { scopes: ['sandboxes:read'], quota: { maxSandboxes: 3, maxTimeoutSec: null } });
    assert.deepEqual(keyChange({ maxMemoryMb: '2048' }), { quota: { maxMemoryMB: 2048 } });
    assert.throws(() => keyChange({}), /--scope or a --max/);
    assert.throws(() => keyChange({ maxSandboxes: '-1' }), /--max-sandboxes/);
  });
});
