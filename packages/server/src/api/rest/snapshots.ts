import { Hono } from 'hono';
import { SandboxdError, toE2bErrorBody } from '@sandboxd/protocol';
import type { SandboxService } from '../../sandboxes/sandbox-service.js';
import { snapshotWireId, type SnapshotRecord } from '../../sandboxes/snapshot-store.js';
import { capTimeout } from '../../auth/quota.js';
import { assertVisible, principalOf } from './auth.js';
import { readBody } from './http.js';
import { forkRequestSchema, snapshotRequestSchema } from './schemas.js';
import { toSandbox } from './serialize.js';

export interface SnapshotRoutesOptions {
  sandboxes: SandboxService;
  domain: string;
  maxTimeoutSec: number;
}

/** E2B's fork timeout when the body names none (SandboxForkRequest: 15 s). */
const FORK_DEFAULT_TIMEOUT_SEC = 15;

/** `components.schemas.SnapshotInfo`. */
const toSnapshotInfo = (s: SnapshotRecord) => ({ snapshotID: snapshotWireId(s), names: [snapshotWireId(s)] });

/**
 * Snapshots and fork (E2B: `POST /sandboxes/{id}/snapshots`, `GET /snapshots`, `DELETE
 * /templates/{id}` of a snapshot, `POST /sandboxes/{id}/fork`). Mounted before the template
 * routes: a template id that names no snapshot goes on to them.
 */
export function snapshotRoutes(opts: SnapshotRoutesOptions): Hono {
  const { sandboxes, domain } = opts;
  const app = new Hono();
  const forkRequest = forkRequestSchema(opts.maxTimeoutSec);

  // E2B: 201 SnapshotInfo; 404 unknown sandbox; 400 a bad body. The sandbox runs on.
  app.post('/sandboxes/:sandboxID/snapshots', async (c) => {
    const id = c.req.param('sandboxID');
    const body = await readBody(c, snapshotRequestSchema);
    assertVisible(c, id, sandboxes.get(id).ownerKeyId);
    const snapshot = await sandboxes.snapshot(id, body.name ?? null);
    return c.json(toSnapshotInfo(snapshot), 201);
  });

  // E2B: the list of SnapshotInfo, newest first; `sandboxID` and `name` filter; `limit`/`nextToken` page.
  app.get('/snapshots', (c) => {
    const sandboxId = c.req.query('sandboxID');
    const name = c.req.query('name');
    const all = sandboxes.snapshots({ ...(sandboxId ? { sandboxId } : {}), ...(name ? { name } : {}) });
    const limit = Math.max(1, Math.min(Number(c.req.query('limit') ?? 100) || 100, 1000));
    const offset = Math.max(0, Number(c.req.query('nextToken') ?? 0) || 0);
    const page = all.slice(offset, offset + limit);
    if (offset + limit < all.length) c.header('X-Next-Token', String(offset + limit));
    return c.json(page.map(toSnapshotInfo), 200);
  });

  app.delete('/templates/:templateID', async (c, next) => {
    if (!(await sandboxes.deleteSnapshot(c.req.param('templateID')))) return next();
    return c.body(null, 204);
  });

  // E2B: 201 with one result per fork ({ sandbox } or { error: { code, message } }); 404 unknown parent.
  app.post('/sandboxes/:sandboxID/fork', async (c) => {
    const id = c.req.param('sandboxID');
    const body = await readBody(c, forkRequest);
    assertVisible(c, id, sandboxes.get(id).ownerKeyId);
    const timeoutSec = capTimeout(principalOf(c).quota, body.timeout ?? Math.min(FORK_DEFAULT_TIMEOUT_SEC, opts.maxTimeoutSec));
    const principal = principalOf(c);
    const results = await sandboxes.fork(id, body.count ?? 1, timeoutSec, { owner: { keyId: principal.keyId, quota: principal.quota } });
    return c.json(
      results.map((r) => (r instanceof SandboxdError ? { error: toE2bErrorBody(r) } : { sandbox: toSandbox(r, domain, true) })),
      201,
    );
  });
  return app;
}
