import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/database.js';

/** A stored API key as listed; the key itself is never stored, only its sha256. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  /** First and last characters of the key, for recognising it (`e2b_1a2b…9f0e`). */
  mask: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface ApiKeyStore {
  /** True when `presented` is the configured key or an unrevoked stored key. */
  verify(presented: string | undefined | null): boolean;
  /** Creates a key (`e2b_` + 40 hex); the plaintext is returned once and never stored. */
  create(name: string): ApiKeyInfo & { key: string };
  list(): ApiKeyInfo[];
  /** Revokes by id; false when no unrevoked key has that id. */
  revoke(id: string): boolean;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

interface Row {
  id: string;
  name: string;
  mask: string;
  created_at: string;
  revoked_at: string | null;
}

const toInfo = (row: Row): ApiKeyInfo => ({
  id: row.id,
  name: row.name,
  mask: row.mask,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
});

/**
 * API keys hashed in the database, plus an optional configured key (SANDBOXD_API_KEY).
 *
 * @example
 * const keys = createApiKeyStore(db, config.apiKey);
 * const { key } = keys.create('ci');
 */
export function createApiKeyStore(db: Db, configuredKey?: string): ApiKeyStore {
  const configuredHash = configuredKey === undefined ? undefined : sha256(configuredKey);
  const findByHash = db.prepare<[string], { id: string }>(
    'SELECT id FROM api_keys WHERE hash = ? AND revoked_at IS NULL',
  );
  const insert = db.prepare('INSERT INTO api_keys (id, name, hash, mask, created_at) VALUES (?, ?, ?, ?, ?)');
  const selectAll = db.prepare<[], Row>('SELECT id, name, mask, created_at, revoked_at FROM api_keys ORDER BY created_at, id');
  const revokeStmt = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');

  return {
    verify(presented) {
      if (!presented) return false;
      const hash = sha256(presented);
      if (configuredHash !== undefined && timingSafeEqual(hash, configuredHash)) return true;
      return findByHash.get(hash.toString('hex')) !== undefined;
    },
    create(name) {
      const key = `e2b_${randomBytes(20).toString('hex')}`;
      const id = `key_${randomBytes(8).toString('hex')}`;
      const mask = `${key.slice(0, 8)}…${key.slice(-4)}`;
      const createdAt = new Date().toISOString();
      insert.run(id, name, sha256(key).toString('hex'), mask, createdAt);
      return { id, name, mask, createdAt, revokedAt: null, key };
    },
    list() {
      return selectAll.all().map(toInfo);
    },
    revoke(id) {
      return revokeStmt.run(new Date().toISOString(), id).changes > 0;
    },
  };
}
