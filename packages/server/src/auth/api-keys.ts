import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/database.js';
import type { Scope } from './scopes.js';

/** Limits of one key, enforced when it creates a sandbox; absent: unlimited (the daemon's own limits). */
export interface KeyQuota {
  /** Sandboxes of the key running (or starting) at once. */
  maxSandboxes?: number;
  /** Longest timeout the key may give a sandbox, seconds. */
  maxTimeoutSec?: number;
  /** Memory of the key's running sandboxes together (their templates' memoryMB), MiB. */
  maxMemoryMB?: number;
}

/** A stored API key as listed; the key itself is never stored, only its sha256. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  /** First and last characters of the key, for recognising it (`e2b_1a2b…9f0e`). */
  mask: string;
  createdAt: string;
  revokedAt: string | null;
  scopes: Scope[];
  quota: KeyQuota;
}

/** Who a request acts for: the key's id (sandboxes record it as their owner), scopes and quota. */
export interface Principal {
  keyId: string;
  name: string;
  scopes: Scope[];
  quota: KeyQuota;
}

/** Key id of the configured key (SANDBOXD_API_KEY): an admin key that is not stored. */
export const CONFIGURED_KEY_ID = 'key_configured';

export interface CreateKeyOptions {
  /** Default: `['admin']`, what every key was before scopes existed. */
  scopes?: Scope[];
  quota?: KeyQuota;
}

export interface ApiKeyStore {
  /** The principal of `presented` (the configured key or an unrevoked stored key), else undefined. */
  authenticate(presented: string | undefined | null): Principal | undefined;
  /** True when `presented` is the configured key or an unrevoked stored key. */
  verify(presented: string | undefined | null): boolean;
  /** Creates a key (`e2b_` + 40 hex); the plaintext is returned once and never stored. */
  create(name: string, options?: CreateKeyOptions): ApiKeyInfo & { key: string };
  list(): ApiKeyInfo[];
  /** Revokes by id; false when no unrevoked key has that id. */
  revoke(id: string): boolean;
  /**
   * Changes an unrevoked key's scopes and quota limits (a limit set to null is lifted; one left
   * out stays); undefined when no unrevoked key has that id. Takes effect at its next request.
   */
  update(id: string, change: KeyChange): ApiKeyInfo | undefined;
}

/** What `update` changes. */
export interface KeyChange {
  scopes?: Scope[];
  quota?: { [K in keyof KeyQuota]?: number | null };
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

interface Row {
  id: string;
  name: string;
  mask: string;
  created_at: string;
  revoked_at: string | null;
  scopes: string;
  max_sandboxes: number | null;
  max_timeout_sec: number | null;
  max_memory_mb: number | null;
}

const quotaOf = (row: Row): KeyQuota => ({
  ...(row.max_sandboxes !== null ? { maxSandboxes: row.max_sandboxes } : {}),
  ...(row.max_timeout_sec !== null ? { maxTimeoutSec: row.max_timeout_sec } : {}),
  ...(row.max_memory_mb !== null ? { maxMemoryMB: row.max_memory_mb } : {}),
});

const toInfo = (row: Row): ApiKeyInfo => ({
  id: row.id,
  name: row.name,
  mask: row.mask,
  createdAt: row.created_at,
  revokedAt: row.revoked_at,
  scopes: JSON.parse(row.scopes) as Scope[],
  quota: quotaOf(row),
});

const COLUMNS = 'id, name, mask, created_at, revoked_at, scopes, max_sandboxes, max_timeout_sec, max_memory_mb';

/**
 * API keys hashed in the database, plus an optional configured key (SANDBOXD_API_KEY, admin).
 *
 * @example
 * const keys = createApiKeyStore(db, config.apiKey);
 * const { key } = keys.create('ci', { scopes: ['sandboxes:read'] });
 */
export function createApiKeyStore(db: Db, configuredKey?: string): ApiKeyStore {
  const configuredHash = configuredKey === undefined ? undefined : sha256(configuredKey);
  const configured: Principal = { keyId: CONFIGURED_KEY_ID, name: 'SANDBOXD_API_KEY', scopes: ['admin'], quota: {} };
  const findByHash = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM api_keys WHERE hash = ? AND revoked_at IS NULL`);
  const insert = db.prepare(
    'INSERT INTO api_keys (id, name, hash, mask, created_at, scopes, max_sandboxes, max_timeout_sec, max_memory_mb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const selectAll = db.prepare<[], Row>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at, id`);
  const revokeStmt = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const findActive = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ? AND revoked_at IS NULL`);
  const updateStmt = db.prepare('UPDATE api_keys SET scopes = ?, max_sandboxes = ?, max_timeout_sec = ?, max_memory_mb = ? WHERE id = ? AND revoked_at IS NULL');

  const authenticate = (presented: string | undefined | null): Principal | undefined => {
    if (!presented) return undefined;
    const hash = sha256(presented);
    if (configuredHash !== undefined && timingSafeEqual(hash, configuredHash)) return configured;
    const row = findByHash.get(hash.toString('hex'));
    if (row === undefined) return undefined;
    const info = toInfo(row);
    return { keyId: info.id, name: info.name, scopes: info.scopes, quota: info.quota };
  };

  return {
    authenticate,
    verify: (presented) => authenticate(presented) !== undefined,
    create(name, options = {}) {
      const key = `e2b_${randomBytes(20).toString('hex')}`;
      const id = `key_${randomBytes(8).toString('hex')}`;
      const mask = `${key.slice(0, 8)}…${key.slice(-4)}`;
      const createdAt = new Date().toISOString();
      const scopes = options.scopes ?? ['admin'];
      const quota = options.quota ?? {};
      insert.run(id, name, sha256(key).toString('hex'), mask, createdAt, JSON.stringify(scopes), quota.maxSandboxes ?? null, quota.maxTimeoutSec ?? null, quota.maxMemoryMB ?? null);
      return { id, name, mask, createdAt, revokedAt: null, scopes, quota, key };
    },
    list() {
      return selectAll.all().map(toInfo);
    },
    revoke(id) {
      return revokeStmt.run(new Date().toISOString(), id).changes > 0;
    },
    update(id, change) {
      const row = findActive.get(id);
      if (row === undefined) return undefined;
      const limit = (name: keyof KeyQuota, current: number | null): number | null => {
        const next = change.quota?.[name];
        return next === undefined ? current : next;
      };
      const scopes = change.scopes ?? (JSON.parse(row.scopes) as Scope[]);
      const next: Row = {
        ...row,
        scopes: JSON.stringify(scopes),
        max_sandboxes: limit('maxSandboxes', row.max_sandboxes),
        max_timeout_sec: limit('maxTimeoutSec', row.max_timeout_sec),
        max_memory_mb: limit('maxMemoryMB', row.max_memory_mb),
      };
      updateStmt.run(next.scopes, next.max_sandboxes, next.max_timeout_sec, next.max_memory_mb, id);
      return toInfo(next);
    },
  };
}
