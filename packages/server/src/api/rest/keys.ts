import { Hono } from 'hono';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { ApiKeyStore, CreateKeyOptions, KeyChange, KeyQuota } from '../../auth/api-keys.js';
import { ALL_SCOPES, type Scope } from '../../auth/scopes.js';
import { readBody } from './http.js';
import { CreateKeyBody, UpdateKeyBody } from './keys-schemas.js';

const keyNotFound = (id: string): SandboxdError =>
  new SandboxdError(ErrorCode.API_KEY_NOT_FOUND, `no active API key "${id}"`, { details: { keyId: id } });

/** The scopes named, each once, in the registry's order. */
const canonical = (scopes: readonly string[]): Scope[] => ALL_SCOPES.filter((s) => scopes.includes(s));

/** Drops the limits left out (zod gives them as undefined keys). */
const definedOnly = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;

/**
 * Key management (beyond E2B; the routes need `admin`, `auth/route-scopes.ts`): `POST /keys` →
 * 201 with the key itself, shown this once; `GET /keys` (no secrets: a mask); `PATCH /keys/{id}`
 * scopes and quota; `DELETE /keys/{id}` revokes (204). The store keeps only hashes.
 */
export function keyRoutes(apiKeys: ApiKeyStore): Hono {
  const app = new Hono();
  app.post('/keys', async (c) => {
    const body = await readBody(c, CreateKeyBody);
    const options: CreateKeyOptions = { quota: definedOnly(body.quota ?? {}) as KeyQuota, ...(body.scopes ? { scopes: canonical(body.scopes) } : {}) };
    return c.json(apiKeys.create(body.name, options), 201);
  });
  app.get('/keys', (c) => c.json(apiKeys.list(), 200));
  app.get('/keys/:keyID', (c) => {
    const id = c.req.param('keyID');
    const info = apiKeys.list().find((k) => k.id === id);
    if (info === undefined) throw keyNotFound(id);
    return c.json(info, 200);
  });
  app.patch('/keys/:keyID', async (c) => {
    const id = c.req.param('keyID');
    const body = await readBody(c, UpdateKeyBody);
    const change: KeyChange = { ...(body.scopes ? { scopes: canonical(body.scopes) } : {}), ...(body.quota ? { quota: definedOnly(body.quota) } : {}) };
    const updated = apiKeys.update(id, change);
    if (updated === undefined) throw keyNotFound(id);
    return c.json(updated, 200);
  });
  app.delete('/keys/:keyID', (c) => {
    const id = c.req.param('keyID');
    if (!apiKeys.revoke(id)) throw keyNotFound(id);
    return c.body(null, 204);
  });
  return app;
}
