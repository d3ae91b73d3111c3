/**
 * Serves a fetch-style app (Hono's `app.fetch`) on a Node HTTP/1.1 server. Used by `main.ts` (and
 * the dev entry); the apps themselves never touch sockets. The handler receives Node's request and
 * response as `c.env.incoming` / `c.env.outgoing` (@hono/node-server's HttpBindings), which the
 * routes that stream straight to the socket (Connect RPCs, /files) use.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener } from '@hono/node-server';
import type { HttpBindings } from '@hono/node-server';
import { Headers, wellFormedRequestId } from '@sandboxd/protocol';
import type { Logger } from './logger.js';
import { inRequest } from './request-scope.js';

export interface ListenOptions {
  fetch: (request: Request, env: HttpBindings) => Response | Promise<Response>;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Idle keep-alive time (E2B keeps idle connections ≥ 640 s). */
  keepAliveMs?: number;
  headersTimeoutMs?: number;
  /** HTTP CONNECT requests (envd's loopback forward). */
  onConnect?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Unparsable HTTP; default: Node's own answer. */
  onClientError?: (err: NodeJS.ErrnoException, socket: Duplex) => void;
  /** The answer to a request that cannot become a fetch Request (bad URL or Host); default: a bare 400. */
  onRequestError?: (err: unknown) => Response;
  /** A response stream that errors (a write after end, a reset socket). */
  onResponseError?: (req: IncomingMessage, err: Error) => void;
  /**
   * Logs one `request` line (method, path, status, ms) for every request carrying a request id
   * (all traffic the daemon's proxy forwards), when its response closes.
   */
  accessLog?: Logger;
}

export interface Listening {
  readonly port: number;
  readonly url: string;
  readonly server: Server;
  /**
   * Stops accepting, closes idle connections, and cuts the rest after `graceMs` (0: at once).
   * Resolves when the server is closed.
   */
  close(graceMs?: number): Promise<void>;
}

export async function listen(options: ListenOptions): Promise<Listening> {
  // autoCleanupIncoming off: routes that read the Node request themselves own draining it.
  const listener = getRequestListener((request, env) => options.fetch(request, env as HttpBindings), {
    autoCleanupIncoming: false,
    hostname: 'localhost',
    ...(options.onRequestError ? { errorHandler: options.onRequestError } : {}),
  });
  const keepAliveMs = options.keepAliveMs ?? 650_000;
  const server = createServer(
    { keepAliveTimeout: keepAliveMs, requestTimeout: 0, headersTimeout: options.headersTimeoutMs ?? 60_000 },
    (req, res) => {
      const onError = options.onResponseError;
      if (onError) res.on('error', (err) => onError(req, err));
      const reqId = wellFormedRequestId(req.headers[Headers.requestId]);
      const log = options.accessLog;
      if (reqId !== undefined && log !== undefined) {
        const started = performance.now();
        res.once('close', () => {
          const fields = { reqId, method: req.method, path: (req.url ?? '').split('?')[0], status: res.statusCode, complete: res.writableFinished, ms: Math.round(performance.now() - started) };
          log.info('request', fields);
        });
      }
      inRequest(reqId, () => void listener(req, res));
    },
  );
  server.keepAliveTimeout = keepAliveMs;
  if (options.onConnect) server.on('connect', options.onConnect);
  if (options.onClientError) server.on('clientError', options.onClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  let closing: Promise<void> | undefined;
  const close = (graceMs = 0): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    })();
    return closing;
  };
  return { port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, server, close };
}

