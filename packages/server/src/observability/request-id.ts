import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { Headers, wellFormedRequestId } from '@sandboxd/protocol';
import { routePattern } from './http-metrics.js';

/** The request's own id when well-formed (`X-Request-Id`), else a new one. */
export function requestIdFor(presented: unknown): string {
  return wellFormedRequestId(presented) ?? randomUUID();
}

/**
 * Gives a request on the daemon's listener its id: the header is set to it (so the REST app and
 * the proxy, which forwards it to the sandbox, read the same one) and the response carries it.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const id = requestIdFor(req.headers[Headers.requestId]);
  req.headers[Headers.requestId] = id;
  res.setHeader(Headers.requestId, id);
  return id;
}

/** The path of a URL without its query (signed `/files` URLs carry their signature there). */
export const pathOnly = (url: string | undefined): string => (url ?? '').split('?')[0] ?? '';

/**
 * One JSON log line per REST request, from a child logger bound to its `reqId`, once it is
 * answered (route pattern, status, milliseconds); the answer carries the id. On the daemon's
 * listener the id is the one `assignRequestId` gave the Node request (the fetch Request is built
 * from its raw headers, which still hold what the client sent).
 */
export function requestLog(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    const reqId = requestIdFor(incoming?.headers[Headers.requestId] ?? c.req.header(Headers.requestId));
    const log = logger.child({ reqId });
    const started = performance.now();
    try {
      await next();
    } finally {
      c.header(Headers.requestId, reqId);
      log.info({ method: c.req.method, route: routePattern(c), status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
    }
  };
}
