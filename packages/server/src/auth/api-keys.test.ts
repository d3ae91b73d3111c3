import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../store/database.js';
import { createHash } from 'node:crypto';
import { CONFIGURED_KEY_ID, createApiKeyStore } from './api-keys.js';

describe('api key store', () => {
  it('creates keys in E2B format, verifies them, stores only hashes', () => {
    const db = openDatabase(':memory:');
    const keys = createApiKeyStore(db);
    const created = keys.create('ci');
    assert.match(created.key, /^e2b_[0-9a-f]{40}$/);
    assert.equal(keys.verify(created.key), true);
    assert.equal(keys.verify(`${created.key}0`), false);
    assert.equal(keys.verify(undefined), false);
    assert.equal(keys.verify(''), false);
    const dump = JSON.stringify(db.prepare('SELECT * FROM api_keys').all());
    assert.ok(!dump.includes(created.key.slice(4)), 'plaintext key must not be stored');
    const listed = keys.list();
    assert.equal(listed.length, 1);
    assert.equal(listed[0]!.name, 'ci');
    assert.ok(!('key' in listed[0]!));
  });

  it('revokes keys by id', () => {
    const keys = createApiKeyStore(openDatabase(':memory:'));
    const a = keys.create('a');
    const b = keys.create('b');
    assert.equal(keys.revoke(a.id), true);
    assert.equal(keys.revoke(a.id), false);
    assert.equal(keys.verify(a.key), false);
    assert.equal(keys.verify(b.key), true);
    assert.notEqual(keys.list().find((k) => k.id === a.id)?.revokedAt, null);
  });

  it('accepts the configured key in addition to stored keys', () => {
    const configured = `e2b_${'1'.repeat(40)}`;
    const keys = createApiKeyStore(openDatabase(':memory:'), configured);
    assert.equal(keys.verify(configured), true);
    assert.equal(keys.verify(`e2b_${'2'.repeat(40)}`), false);
  });
});

describe('api key scopes and quotas', () => {
  it('keys are admin without scopes; scopes and quota are stored and authenticate returns them', () => {
    const keys = createApiKeyStore(openDatabase(':memory:'));
    const admin = keys.create('a');
    assert.deepEqual(admin.scopes, ['admin']);
    const ro = keys.create('ro', { scopes: ['sandboxes:read'], quota: { maxSandboxes: 2, maxTimeoutSec: 600, maxMemoryMB: 2048 } });
    assert.deepEqual(keys.authenticate(ro.key), { keyId: ro.id, name: 'ro', scopes: ['sandboxes:read'], quota: { maxSandboxes: 2, maxTimeoutSec: 600, maxMemoryMB: 2048 } });
    assert.deepEqual(keys.authenticate(admin.key)?.quota, {});
    const listed = keys.list().find((k) => k.id === ro.id)!;
    assert.deepEqual(listed.scopes, ['sandboxes:read']);
    assert.deepEqual(listed.quota, { maxSandboxes: 2, maxTimeoutSec: 600, maxMemoryMB: 2048 });
    assert.equal(keys.authenticate('e2b_nope'), undefined);
    keys.revoke(ro.id);
    assert.equal(keys.authenticate(ro.key), undefined);
  });

  it('the configured key is an admin principal of its own id', () => {
    const configured = `e2b_${'3'.repeat(40)}`;
    const keys = createApiKeyStore(openDatabase(':memory:'), configured);
    assert.deepEqual(keys.authenticate(configured), { keyId: CONFIGURED_KEY_ID, name: 'SANDBOXD_API_KEY', scopes: ['admin'], quota: {} });
  });

  it('a key stored before scopes existed (no scope columns written) is admin', () => {
    const db = openDatabase(':memory:');
    db.prepare('INSERT INTO api_keys (id, name, hash, mask, created_at) VALUES (?, ?, ?, ?, ?)').run(
      'key_old',
      'old',
      createHash('sha256').update('e2b_old').digest('hex'),
      'e2b_old…',
      '2026-01-01T00:00:00.000Z',
    );
    const keys = createApiKeyStore(db);
    assert.deepEqual(keys.authenticate('e2b_old'), { keyId: 'key_old', name: 'old', scopes: ['admin'], quota: {} });
  });
});
