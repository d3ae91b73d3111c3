import { Hono, type Context } from 'hono';
import { ErrorCode, Headers, SandboxdError } from '@sandboxd/protocol';
import type { SandboxService } from '../../sandboxes/sandbox-service.js';
import { applyListQuery } from '../../sandboxes/list-query.js';
import { parseListQuery, parseMetadataFilter } from './list-params.js';
import { capTimeout } from '../../auth/quota.js';
import { visibleTo } from '../../auth/ownership.js';
import { hasScope } from '../../auth/scopes.js';
import type { SandboxRecord } from '../../sandboxes/sandbox-record.js';
import { assertVisible, principalOf } from './auth.js';
import { readBody } from './http.js';
import { filterLogEntries, toLogEntries } from './logs.js';
import { connectSchema, networkUpdateSchema, newSandboxSchema, pauseRequestSchema, refreshRequestSchema, resumeRequestSchema, timeoutRequestSchema } from './schemas.js';
import { toListedSandbox, toSandbox, toSandboxDetail } from './serialize.js';

export interface SandboxRoutesOptions {
  sandboxes: SandboxService;
  domain: string;
  defaultTimeoutSec: number;
  maxTimeoutSec: number;
}

/** Default timeout of connect when the body names none (E2B: 300 s). */
const CONNECT_DEFAULT_TIMEOUT_SEC = 300;

/** Timeout of the deprecated resume when the body names none (E2B's ResumedSandbox: 15 s). */
const RESUME_DEFAULT_TIMEOUT_SEC = 15;

/** Refresh duration when the body names none, and its floor (E2B: SandboxTimeoutDefault, 15 s). */
const REFRESH_MIN_DURATION_SEC = 15;

/**
 * The E2B sandbox control-plane routes (`/sandboxes…`, `/v2/sandboxes…`), behind `apiKeyAuth`:
 * a key sees and controls only the sandboxes it created (admin keys: all); another key's sandbox
 * is answered as an unknown one.
 */
export function sandboxRoutes(opts: SandboxRoutesOptions): Hono {
  const { sandboxes, domain } = opts;
  const app = new Hono();
  /** The running sandbox `id` if the request's key may see it; SANDBOX_NOT_FOUND otherwise. */
  const visible = (c: Context, id: string): SandboxRecord => {
    const record = sandboxes.get(id);
    assertVisible(c, id, record.ownerKeyId);
    return record;
  };
  /** A running or paused sandbox the caller may see. */
  const visibleInfo = (c: Context, id: string): SandboxRecord => {
    const record = sandboxes.info(id);
    assertVisible(c, id, record.ownerKeyId);
    return record;
  };
  const running = (c: Context): SandboxRecord[] => visibleTo(principalOf(c), sandboxes.running());
  const newSandbox = newSandboxSchema(opts.maxTimeoutSec);
  const timeoutRequest = timeoutRequestSchema(opts.maxTimeoutSec);
  const connectRequest = connectSchema(opts.maxTimeoutSec);
  const resumeRequest = resumeRequestSchema(opts.maxTimeoutSec);
  const connectTimeout = Math.min(CONNECT_DEFAULT_TIMEOUT_SEC, opts.maxTimeoutSec);

  const create = (version: 1 | 2) =>
    app.post(version === 1 ? '/sandboxes' : '/v2/sandboxes', async (c) => {
      const body = await readBody(c, newSandbox);
      const principal = principalOf(c);
      // v2: all communication is secured. v1: `secure` absent means secured, as the SDKs send true.
      const secure = version === 2 ? true : body.secure ?? true;
      const record = await sandboxes.create(
        {
          template: body.templateID,
          timeoutSec: body.timeout ?? opts.defaultTimeoutSec,
          metadata: body.metadata ?? {},
          envVars: body.envVars ?? {},
          secure,
          allowInternetAccess: body.allow_internet_access ?? true,
          allowOut: body.network?.allowOut ?? [],
          denyOut: body.network?.denyOut ?? [],
          allowPublicTraffic: body.network?.allowPublicTraffic ?? true,
          maskRequestHost: body.network?.maskRequestHost ?? null,
          owner: { keyId: principal.keyId, quota: principal.quota },
          autoPause: body.autoPause ?? false,
          autoResume: body.autoResume?.enabled ?? false,
          ...(body.autoPauseMemory === false ? { autoPauseMemory: false } : {}),
        },
        { signal: c.req.raw.signal },
      );
      return c.json(toSandbox(record, domain, true), 201);
    });
  create(1);
  create(2);

  app.get('/v2/sandboxes', (c) => {
    const query = parseListQuery(new URL(c.req.url).searchParams);
    const all = visibleTo(principalOf(c), sandboxes.listed());
    const { items, nextToken } = applyListQuery(all, query);
    if (nextToken !== undefined) c.header(Headers.nextToken, nextToken);
    c.header('X-Total-Running', String(all.filter((r) => r.state === 'running').length));
    return c.json(items.map(toListedSandbox), 200);
  });

  app.get('/sandboxes', (c) => {
    const filter = parseMetadataFilter(new URL(c.req.url).searchParams.get('metadata') ?? undefined);
    const items = running(c)
      .filter((r) => Object.entries(filter).every(([k, v]) => r.metadata[k] === v))
      .sort((a, b) => b.startedAt - a.startedAt);
    return c.json(items.map(toListedSandbox), 200);
  });

  // The access token only for keys that may use the sandbox (a read-only key gets the rest).
  app.get('/sandboxes/:sandboxID', (c) =>
    c.json(toSandboxDetail(visibleInfo(c, c.req.param('sandboxID')), domain, hasScope(principalOf(c).scopes, 'sandboxes:use')), 200),
  );

  app.delete('/sandboxes/:sandboxID', async (c) => {
    visibleInfo(c, c.req.param('sandboxID'));
    await sandboxes.kill(c.req.param('sandboxID'), { signal: c.req.raw.signal });
    return c.body(null, 204);
  });

  app.post('/sandboxes/:sandboxID/timeout', async (c) => {
    const id = c.req.param('sandboxID');
    visible(c, id);
    const body = await readBody(c, timeoutRequest);
    const { quota } = principalOf(c);
    if (quota.maxTimeoutSec !== undefined && body.timeout > quota.maxTimeoutSec) {
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `timeout ${body.timeout} s exceeds this API key's max-timeout quota of ${quota.maxTimeoutSec} s`);
    }
    sandboxes.setTimeout(id, body.timeout);
    return c.body(null, 204);
  });

  // E2B (sandbox_refresh.go): the body is parsed first (400), then the sandbox (404); `duration`
  // absent or below 15 s counts as 15 s; the end time only moves later (never shortens); 204.
  app.post('/sandboxes/:sandboxID/refreshes', async (c) => {
    const body = await readBody(c, refreshRequestSchema);
    const duration = Math.max(body.duration ?? REFRESH_MIN_DURATION_SEC, REFRESH_MIN_DURATION_SEC);
    visible(c, c.req.param('sandboxID'));
    sandboxes.connect(c.req.param('sandboxID'), capTimeout(principalOf(c).quota, Math.min(duration, opts.maxTimeoutSec)));
    return c.body(null, 204);
  });

  // E2B: 200 with the sandbox when it was running (end time only extended), 201 when it was
  // paused and is now resumed (end time now + timeout); 404 unknown.
  const connect = (path: string) =>
    app.post(path, async (c) => {
      const id = c.req.param('sandboxID') ?? '';
      visibleInfo(c, id);
      const body = await readBody(c, connectRequest);
      const { record, resumed } = await sandboxes.resume(id, capTimeout(principalOf(c).quota, body.timeout ?? connectTimeout), { signal: c.req.raw.signal });
      return c.json(toSandbox(record, domain, true), resumed ? 201 : 200);
    });
  connect('/sandboxes/:sandboxID/connect');
  connect('/v2/sandboxes/:sandboxID/connect');

  // E2B: the body is required and checked first (400), then the sandbox (404); 204 when applied.
  // Full replace, as E2B: omitted fields are cleared; allow_internet_access false denies 0.0.0.0/0.
  // Not the request's signal: an update the client gave up on still completes (or fails) whole.
  app.put('/sandboxes/:sandboxID/network', async (c) => {
    if ((await c.req.text()).trim() === '') throw new SandboxdError(ErrorCode.BAD_REQUEST, 'request body is required');
    const body = await readBody(c, networkUpdateSchema);
    visible(c, c.req.param('sandboxID'));
    await sandboxes.updateNetwork(c.req.param('sandboxID'), {
      allowInternetAccess: body.allow_internet_access ?? true,
      allowOut: body.allowOut ?? [],
      denyOut: body.denyOut ?? [],
    });
    return c.body(null, 204);
  });

  app.get('/sandboxes/:sandboxID/logs', async (c) => {
    const record = visible(c, c.req.param('sandboxID'));
    const lines = await sandboxes.logs(record.sandboxId, { signal: c.req.raw.signal });
    const entries = filterLogEntries(toLogEntries(lines, record.startedAt), new URL(c.req.url).searchParams);
    return c.json({ logs: entries.map((e) => ({ line: e.message, timestamp: e.timestamp })), logEntries: entries }, 200);
  });

  app.get('/v2/sandboxes/:sandboxID/logs', async (c) => {
    const record = visible(c, c.req.param('sandboxID'));
    const lines = await sandboxes.logs(record.sandboxId, { signal: c.req.raw.signal });
    return c.json({ logs: filterLogEntries(toLogEntries(lines, record.startedAt), new URL(c.req.url).searchParams) }, 200);
  });

  // E2B (sandbox_pause.go): 204 paused; 409 already paused; 404 unknown. The body is optional.
  // Not the request's signal: a pause the client gave up on still completes (or fails) whole.
  app.post('/sandboxes/:sandboxID/pause', async (c) => {
    const id = c.req.param('sandboxID');
    visibleInfo(c, id);
    const body = await readBody(c, pauseRequestSchema);
    await sandboxes.pause(id, { keepMemory: body.memory !== false });
    return c.body(null, 204);
  });

  // Deprecated (E2B sandbox_resume.go): 201 + the sandbox when resumed; 409 when it is running.
  app.post('/sandboxes/:sandboxID/resume', async (c) => {
    const id = c.req.param('sandboxID');
    const body = await readBody(c, resumeRequest);
    const record = visibleInfo(c, id);
    if (record.state === 'running') throw new SandboxdError(ErrorCode.SANDBOX_NOT_PAUSED, `Sandbox ${id} is already running`, { details: { sandboxId: id } });
    const { record: resumed } = await sandboxes.resume(id, capTimeout(principalOf(c).quota, body.timeout ?? Math.min(RESUME_DEFAULT_TIMEOUT_SEC, opts.maxTimeoutSec)));
    return c.json(toSandbox(resumed, domain, true), 201);
  });

  return app;
}
