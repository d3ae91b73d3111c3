import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../store/database.js';
import { createApiKeyStore } from './api-keys.js';

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
