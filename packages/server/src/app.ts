import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import { mcpRoute } from '@sandboxd/mcp/http';
import { ErrorCode, SandboxdError, isSandboxdError } from '@sandboxd/protocol';
import type { ApiKeyStore } from './auth/api-keys.js';
import type { SandboxService } from './sandboxes/sandbox-service.js';
import { dashboardRoute } from './api/dashboard-route.js';
import { errorResponse } from './api/rest/http.js';
import { LIMITS } from './api/rest/schemas.js';
import { apiKeyAuth, principalOf } from './api/rest/auth.js';
import { metricsRoutes } from './api/rest/metrics.js';
import { usageRoutes } from './api/rest/usage.js';
import { keyRoutes } from './api/rest/keys.js';
import { CONFIGURED_KEY_ID } from './auth/api-keys.js';
import { canSee } from './auth/ownership.js';
import { hasScope } from './auth/scopes.js';
import type { UsageMeter } from './usage/usage-meter.js';
import { sandboxRoutes } from './api/rest/sandboxes.js';
import { snapshotRoutes } from './api/rest/snapshots.js';
import { templateRoutes, templateUploadRoute } from './api/rest/templates.js';
import type { TemplateBuildService } from './templates/build-service.js';
import { createMetricsSampler, type MetricsSampler } from './sandboxes/metrics-sampler.js';
import { createDaemonMetrics, type DaemonMetrics } from './observability/daemon-metrics.js';
import { httpMetrics } from './observability/http-metrics.js';
import { requestLog } from './observability/request-id.js';
import { instrumentSandboxes } from './observability/instrument-sandboxes.js';
import { metricsHandler } from './observability/metrics-route.js';

export interface AppDeps {
  sandboxes: SandboxService;
  apiKeys: ApiKeyStore;
  logger: Logger;
  domain: string;
  defaultTimeoutSec: number;
  maxTimeoutSec: number;
  /** The sandboxes' metrics history; default: one without a timer (samples taken when asked). */
  metrics?: MetricsSampler;
  /** The Prometheus registry `GET /metrics` exposes; default: one of this app's own. */
  prometheus?: DaemonMetrics;
  /** The usage meter `GET /usage` answers from; without one the route is absent. */
  usage?: UsageMeter;
  /** The `/mcp` endpoint (the daemon keeps it to end its sessions at stop); default: {@link createMcpRoute}. */
  mcp?: McpRoute;
  /** The built dashboard's folder; default: `@sandboxd/dashboard`'s `dist/public`. */
  dashboardDir?: string;
  /** E2B's template build API; absent: its routes answer 404. */
  templateBuilds?: TemplateBuildService;
}

export type McpRoute = ReturnType<typeof mcpRoute>;

/** The `/mcp` endpoint, checking the daemon's API keys. */
export function createMcpRoute(deps: Pick<AppDeps, 'apiKeys' | 'maxTimeoutSec' | 'logger'>): McpRoute {
  return mcpRoute({
    verifyApiKey: (key) => deps.apiKeys.verify(key),
    maxTimeoutSec: deps.maxTimeoutSec,
    onError: (err, what) => deps.logger.warn({ err }, `mcp: ${what} failed`),
  });
}

/**
 * The E2B-compatible REST control plane as a Hono app (`app.fetch` is the handler; no sockets).
 * Every route but `GET /health` requires `X-API-KEY` with the scope its route needs (`auth/route-scopes.ts`);
 * every error has E2B's `{code, message}` shape.
 *
 * @example
 * const app = createApp(deps);
 * const res = await app.request('/v2/sandboxes', { headers: { 'X-API-KEY': key } });
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const sampler = deps.metrics ?? createMetricsSampler({ sandboxes: deps.sandboxes });
  const prometheus = deps.prometheus ?? createDaemonMetrics({ sandboxes: deps.sandboxes, samples: sampler });
  const sandboxes = instrumentSandboxes(deps.sandboxes, prometheus);
  app.use('*', requestLog(deps.logger));
  app.use('*', httpMetrics(prometheus));

  app.onError((error, c) => {
    if (isSandboxdError(error)) {
      if (error.status >= 500) deps.logger.error({ err: error, path: c.req.path }, 'request failed');
      return errorResponse(c, error);
    }
    deps.logger.error({ err: error, path: c.req.path }, 'unexpected error');
    return errorResponse(c, new SandboxdError(ErrorCode.INTERNAL, 'internal server error'));
  });
  app.notFound((c) =>
    errorResponse(c, new SandboxdError(ErrorCode.NOT_FOUND, `no route ${c.req.method} ${c.req.path}`)),
  );

  // E2B's spec: `GET /health` answers 204 "The service is healthy", with no security requirement.
  // Registered before the key check, so probes need no key.
  app.get('/health', (c) => c.body(null, 204));
  // Prometheus exposition; it checks the API key itself (X-API-KEY or Authorization: Bearer): it
  // names every sandbox of the daemon, so it needs `metrics:read` (or admin).
  app.get(
    '/metrics',
    metricsHandler(prometheus, (key) => {
      const principal = deps.apiKeys.authenticate(key);
      if (principal === undefined) return 'unauthenticated';
      return hasScope(principal.scopes, 'metrics:read') ? 'ok' : 'forbidden';
    }),
  );
  // The web dashboard's static files; the page signs in against the API with a key of its own.
  app.route('/', dashboardRoute(deps.dashboardDir === undefined ? {} : { dir: deps.dashboardDir }));
  // MCP over Streamable HTTP; it checks the same API keys itself (X-API-KEY or Authorization: Bearer).
  app.all('/mcp', deps.mcp ?? createMcpRoute(deps));

  // Upload links of the build API carry their own signature, as E2B's presigned URLs do.
  if (deps.templateBuilds) app.route('/', templateUploadRoute(deps.templateBuilds));

  // Every route below: a valid key with the scope its route needs (auth/route-scopes.ts).
  app.use('*', apiKeyAuth(deps.apiKeys));
  app.use(
    '*',
    bodyLimit({
      maxSize: LIMITS.bodyBytes,
      onError: (c) =>
        errorResponse(
          c,
          new SandboxdError(ErrorCode.PAYLOAD_TOO_LARGE, `request body exceeds ${LIMITS.bodyBytes} bytes`),
        ),
    }),
  );

  // Before the sandbox routes: `/sandboxes/metrics` is not a sandbox id.
  app.route(
    '/',
    metricsRoutes({
      sampler,
      visible: (c, id) => {
        const record = sandboxes.find(id);
        return record === undefined || canSee(principalOf(c), record.ownerKeyId);
      },
    }),
  );
  if (deps.usage !== undefined) {
    const keyName = (id: string): string | undefined => (id === CONFIGURED_KEY_ID ? 'SANDBOXD_API_KEY' : deps.apiKeys.list().find((k) => k.id === id)?.name);
    app.route('/', usageRoutes({ usage: deps.usage, keyName }));
  }
  // Before the template routes: `DELETE /templates/{id}` of a snapshot deletes the snapshot.
  app.route('/', snapshotRoutes({ sandboxes, domain: deps.domain, maxTimeoutSec: deps.maxTimeoutSec }));
  if (deps.templateBuilds) app.route('/', templateRoutes(deps.templateBuilds));
  app.route('/', keyRoutes(deps.apiKeys));
  app.route(
    '/',
    sandboxRoutes({
      sandboxes,
      domain: deps.domain,
      defaultTimeoutSec: deps.defaultTimeoutSec,
      maxTimeoutSec: deps.maxTimeoutSec,
    }),
  );
  return app;
}
