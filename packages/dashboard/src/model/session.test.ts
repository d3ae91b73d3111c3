import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_KEY, normalizeKey, storageKeyStore } from './session.js';

/** A Web Storage with the methods the store uses, over a Map (Node has no sessionStorage). */
function memoryStorage() {
  const items = new Map<string, string>();
  return { items, getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v), removeItem: (k: string) => void items.delete(k) };
}

describe('key store', () => {
  it('keeps the key under one name and forgets it on sign-out', () => {
    const storage = memoryStorage();
    const keys = storageKeyStore(storage);
    assert.equal(keys.get(), undefined);
    keys.set('e2b_abc');
    assert.equal(storage.items.get(SESSION_KEY), 'e2b_abc');
    assert.equal(keys.get(), 'e2b_abc');
    keys.clear();
    assert.equal(keys.get(), undefined);
    assert.equal(storage.items.size, 0);
  });

  it('normalizes pasted keys', () => {
    assert.equal(normalizeKey('  e2b_abc \n'), 'e2b_abc');
    assert.equal(normalizeKey('X-API-KEY: e2b_abc'), 'e2b_abc');
    assert.equal(normalizeKey('Bearer e2b_abc'), 'e2b_abc');
    assert.equal(normalizeKey('   '), '');
  });
});
