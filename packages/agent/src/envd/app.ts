/**
 * The envd-compatible API (port 49983) as a Hono app built from its deps: the Connect services
 * (process, filesystem), `/health`, `/envs`, `/metrics` and `/files`. No sockets: `main.ts` serves
 * it (and routes HTTP CONNECT to the loopback forwarder). Every request but the exempt ones needs
 * the sandbox's access token, except the daemon's `POST /adopt` and `GET /template-ready` (its own
 * daemon secret, checked ahead of the gate); every plain-HTTP error has envd's `{code, message}` body.
 *
 * @example
 * const app = createEnvdApp(deps, { shutdown });
 * const res = await app.request('/envs', { headers: { 'X-Access-Token': token } });
 */
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { Adopt, ErrorCode, Headers, SandboxdError, TemplateReady, isSandboxdError } from '@sandboxd/protocol';
import type { AdoptHandler } from './adopt/route.js';
import type { TemplateReadyHandler } from './template-ready-route.js';
import { passesTokenGate, UNAUTHORIZED_MESSAGE } from './access.js';
import { envdHandlers, nodeRpcHandler } from './connect.js';
import type { EnvdDeps } from './deps.js';
import { errorResponse, jsonResponse } from './http-errors.js';
import { handleDownload } from './rest/download.js';
import { createMetricsReader, type EnvdMetrics } from './rest/metrics.js';
import { handleUpload } from './rest/upload.js';

export type EnvdEnv = { Bindings: HttpBindings };

export interface EnvdAppOptions {
  /** Aborted on shutdown: in-flight RPC streams end with `unavailable`. */
  shutdown: AbortSignal;
  /** GET /metrics (default: the sandbox's cgroup and /proc). */
  readMetrics?: () => Promise<EnvdMetrics>;
  /** The daemon's `POST /adopt` (`adopt/route.ts`), served ahead of the access-token gate; absent: no route. */
  adopt?: AdoptHandler;
  /** The daemon's `GET /template-ready` (`template-ready-route.ts`), ahead of the gate like adopt. */
  templateReady?: TemplateReadyHandler;
}

export function createEnvdApp(deps: EnvdDeps, options: EnvdAppOptions): Hono<EnvdEnv> {
  const { logger } = deps;
  const readMetrics = options.readMetrics ?? createMetricsReader();
  const app = new Hono<EnvdEnv>();

  app.onError((error, c) => {
    const status = isSandboxdError(error) ? error.status : 500;
    const { incoming, outgoing } = c.env ?? {};
    if (outgoing && (outgoing.headersSent || outgoing.destroyed)) {
      // Mid-stream (a download cut short): no status left to send, only the socket to drop.
      logger.warn('request ended early', { method: c.req.method, url: c.req.url, err: (error as Error).message });
      outgoing.destroy();
      return RESPONSE_ALREADY_SENT;
    }
    if (incoming?.destroyed && !incoming.complete) {
      logger.warn('request ended early', { method: c.req.method, url: c.req.url, err: (error as Error).message });
    } else if (status >= 500) {
      logger.error('request failed', { method: c.req.method, url: c.req.url, status, err: error });
    }
    if (incoming && !incoming.complete && !incoming.destroyed) incoming.resume();
    return errorResponse(error);
  });
  app.notFound((c) => errorResponse(new SandboxdError(ErrorCode.NOT_FOUND, `${c.req.method} ${c.req.path} not found`)));

  // The daemon secret, not the sandbox's access token, opens /adopt: it answers before the gate.
  const { adopt } = options;
  if (adopt) app.post(Adopt.path, (c) => adopt(c));
  const { templateReady } = options;
  if (templateReady) app.get(TemplateReady.path, (c) => templateReady(c));

  app.use('*', async (c, next) => {
    if (!passesTokenGate(c.req.method, c.req.path, c.req.header(Headers.accessToken), deps.config.accessToken)) {
      logger.warn('request without a valid access token', { method: c.req.method, path: c.req.path });
      throw new SandboxdError(ErrorCode.UNAUTHENTICATED, UNAUTHORIZED_MESSAGE);
    }
    // A target only Node's parser accepted (`GET //[::1`): answered as envd's 400, not a 404.
    const target = c.env?.incoming?.url;
    if (target !== undefined && !URL.canParse(target, 'http://agent')) {
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `invalid request URL: ${JSON.stringify(target)}`);
    }
    await next();
  });

  for (const handler of envdHandlers(deps, options.shutdown)) app.all(handler.requestPath, nodeRpcHandler(handler, logger));

  app.get('/health', (c) => c.body(null, 204));
  app.get('/envs', () => jsonResponse(200, deps.config.envVars));
  app.get('/metrics', async () => jsonResponse(200, await readMetrics()));
  app.get('/files', async (c) => {
    await handleDownload(c.env.incoming, c.env.outgoing, new URL(c.req.url).searchParams, deps);
    return RESPONSE_ALREADY_SENT;
  });
  app.post('/files', async (c) => jsonResponse(200, await handleUpload(c.env.incoming, new URL(c.req.url).searchParams, deps)));
  return app;
}
