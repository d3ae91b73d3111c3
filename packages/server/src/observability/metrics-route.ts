import type { Handler } from 'hono';
import type { RequestListener } from 'node:http';
import { ErrorCode, Headers, SandboxdError } from '@sandboxd/protocol';
import { errorResponse } from '../api/rest/http.js';
import type { DaemonMetrics } from './daemon-metrics.js';

/** The key of a request: `X-API-KEY`, or `Authorization: Bearer <key>`. */
export function requestApiKey(header: (name: string) => string | undefined): string | undefined {
  const key = header(Headers.apiKey);
  if (key !== undefined && key !== '') return key;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header('authorization') ?? '');
  return match?.[1];
}

/** `GET /metrics` on the REST listener: needs an API key with `metrics:read` (`checkApiKey` decides). */
export function metricsHandler(metrics: DaemonMetrics, checkApiKey: (key: string | undefined) => 'ok' | 'unauthenticated' | 'forbidden'): Handler {
  return async (c) => {
    const verdict = checkApiKey(requestApiKey((name) => c.req.header(name)));
    if (verdict === 'unauthenticated') {
      return errorResponse(
        c,
        new SandboxdError(ErrorCode.UNAUTHENTICATED, 'invalid or missing API key; send it in the X-API-KEY header or as Authorization: Bearer'),
      );
    }
    if (verdict === 'forbidden') {
      return errorResponse(c, new SandboxdError(ErrorCode.FORBIDDEN, 'this API key lacks the scope "metrics:read" (scrape GET /metrics); create a key with --scope metrics:read'));
    }
    const { contentType, body } = await metrics.exposition();
    return c.body(body, 200, { 'content-type': contentType, 'cache-control': 'no-store' });
  };
}

/**
 * The listener of the separate metrics address (`SANDBOXD_METRICS_PORT`): `GET /metrics` without a
 * key (the address is the access control), 404 for anything else.
 */
export function openMetricsListener(metrics: DaemonMetrics, onError: (error: unknown) => void): RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      const body = JSON.stringify({ code: 404, message: 'only GET /metrics is served here' });
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    metrics.exposition().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        onError(error);
        res.writeHead(500).end();
      },
    );
  };
}
