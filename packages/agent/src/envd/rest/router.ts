import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EnvdDeps } from '../deps.js';
import { handleDownload } from './download.js';
import { createMetricsReader } from './metrics.js';
import { HttpError, sendError, sendJson } from './reply.js';
import { handleUpload } from './upload.js';

/** envd's plain-HTTP routes: /health, /envs, /metrics, GET and POST /files. */
export function createRestHandler(deps: EnvdDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const readMetrics = createMetricsReader();
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://agent');
    } catch {
      throw new HttpError(400, `invalid request URL: ${JSON.stringify(req.url ?? '')}`);
    }
    const key = `${req.method ?? 'GET'} ${url.pathname}`;
    switch (key) {
      case 'GET /health':
        res.writeHead(204);
        res.end();
        return;
      case 'GET /envs':
        sendJson(res, 200, deps.config.envVars);
        return;
      case 'GET /metrics':
        sendJson(res, 200, await readMetrics());
        return;
      case 'GET /files':
        await handleDownload(req, res, url.searchParams, deps);
        return;
      case 'POST /files':
        sendJson(res, 200, await handleUpload(req, url.searchParams, deps));
        return;
      default:
        throw new HttpError(404, `${req.method ?? ''} ${url.pathname} not found`);
    }
  };
  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof Error ? err.message : String(err);
      if (res.headersSent || res.destroyed || req.destroyed) {
        // Mid-stream (a download cut short, a client gone): no status left to send, only the socket to drop.
        deps.logger.warn('request ended early', { method: req.method, url: req.url, err: message });
      } else if (status >= 500) {
        deps.logger.error('request failed', { method: req.method, url: req.url, status, err });
      }
      if (!req.complete && !req.destroyed) req.resume();
      try {
        sendError(res, status, message);
      } catch (sendErr) {
        deps.logger.warn('cannot send error response', { err: (sendErr as Error).message });
        res.destroy();
      }
    });
  };
}
