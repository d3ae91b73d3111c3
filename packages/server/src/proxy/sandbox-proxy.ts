import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Route, RouteLookup } from './route.js';
import { resolveRoute } from './route.js';
import { createNodeProxy } from './node-proxy.js';
import { routeError, sandboxNotFound } from '../util/e2b-error-bodies.js';
import { createStreamRegistry } from './stream-registry.js';
import { ENVD_PORT } from '@sandboxd/protocol';
import { TRAFFIC_TOKEN_HEADER, trafficTokenFailure } from './traffic-token.js';
import type { StreamRegistry } from './stream-registry.js';
import type { ResponseTap } from '../observability/execution-tracking.js';

type SandboxRoute = Extract<Route, { kind: 'sandbox' | 'error' }>;

/** What a signed `/files` answer carries beside the sandbox's own headers (a CSP the sandbox cannot lift: policies add up). */
const SIGNED_FILE_HEADERS = ['content-security-policy', 'sandbox'];

/** The sandbox-traffic half of the listener: routing, forwarding, and reset on sandbox end. */
export interface SandboxProxy {
  /** The route of a request; `rest` means it is not sandbox traffic. */
  route(req: IncomingMessage): Route;
  /** Answers or forwards one request; `tap` sees the sandbox's response before it is piped. */
  handle(req: IncomingMessage, res: ServerResponse, route: SandboxRoute, tap?: ResponseTap): void;
  /** Handles an upgrade request of any route (REST does not upgrade: 404). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Call when a sandbox ends: resets its in-flight exchanges and drops pooled upstream
   * connections to its address (a later sandbox may get the same address).
   */
  sandboxEnded(sandboxId: string, address: string | null): void;
  /** Resets every in-flight exchange and drops pooled upstream connections. */
  close(): void;
  readonly streams: StreamRegistry;
}

export interface SandboxProxyOptions {
  domain: string;
  lookup: RouteLookup;
  logger: Logger;
  /** Precise timers for a sandbox while an exchange with it is in flight (released when it ends). */
  holdTimers?: (sandboxId: string) => () => void;
}

export function createSandboxProxy(options: SandboxProxyOptions): SandboxProxy {
  const { domain, lookup, logger } = options;
  const streams = createStreamRegistry(options.holdTimers ? { hold: options.holdTimers } : {});
  const proxy = createNodeProxy(streams, logger);

  const failure = (route: SandboxRoute, req: IncomingMessage): { status: number; body: string } | undefined => {
    if (route.kind === 'error') return routeError(route.status, route.message);
    if (route.record === undefined || route.record.address === null) return sandboxNotFound(route.sandboxId);
    return trafficTokenFailure(route.record, route.port, req.headers[TRAFFIC_TOKEN_HEADER]);
  };
  const targetOf = (route: Extract<Route, { kind: 'sandbox' }>) => {
    const mask = route.port === ENVD_PORT ? null : (route.record?.ingress?.maskRequestHost ?? null);
    return {
      sandboxId: route.sandboxId,
      port: route.port,
      address: route.record!.address!,
      host: `${route.port}-${route.sandboxId}.${domain}`,
      ...(mask ? { requestHost: mask.replaceAll('${PORT}', String(route.port)) } : {}),
      ...(route.record?.ingress?.loopbackSecret ? { loopbackSecret: route.record.ingress.loopbackSecret } : {}),
      // A file of the sandbox opened from a signed URL is on the daemon's origin: as a sandboxed
      // document (a unique origin) its scripts cannot reach the daemon's API or the dashboard's key.
      ...(route.signedFile ? { addResponseHeaders: SIGNED_FILE_HEADERS } : {}),
    };
  };

  const serve = (req: IncomingMessage, res: ServerResponse, route: SandboxRoute, tap?: ResponseTap): void => {
    const failed = failure(route, req);
    if (failed !== undefined) {
      req.resume();
      res.writeHead(failed.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(failed.body) });
      res.end(failed.body);
      return;
    }
    proxy.forward(req, res, targetOf(route as Extract<Route, { kind: 'sandbox' }>), tap);
  };
  const serveUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, route: SandboxRoute): void => {
    const failed = failure(route, req);
    if (failed !== undefined) {
      socket.end(
        `HTTP/1.1 ${failed.status} ${failed.status === 400 ? 'Bad Request' : failed.status === 403 ? 'Forbidden' : 'Bad Gateway'}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(failed.body)}\r\nconnection: close\r\n\r\n${failed.body}`,
      );
      return;
    }
    proxy.upgrade(req, socket, head, targetOf(route as Extract<Route, { kind: 'sandbox' }>));
  };
  /**
   * Traffic for a sandbox that is not running: when it is paused with autoResume the exchange
   * waits for the resume (the request body stays unread meanwhile), then goes on as usual.
   */
  const woken = async (route: SandboxRoute): Promise<SandboxRoute> => {
    if (route.kind !== 'sandbox' || route.record !== undefined || lookup.wake === undefined) return route;
    const record = await lookup.wake(route.sandboxId).catch((error: unknown) => {
      logger.warn({ sandboxId: route.sandboxId, err: error }, 'resuming a paused sandbox for its traffic failed');
      return undefined;
    });
    return { ...route, record };
  };
  const needsWake = (route: SandboxRoute): boolean => route.kind === 'sandbox' && route.record === undefined && lookup.wake !== undefined;

  return {
    streams,
    route: (req) => resolveRoute(req, domain, lookup),
    handle(req, res, route, tap) {
      if (needsWake(route)) void woken(route).then((ready) => serve(req, res, ready, tap));
      else serve(req, res, route, tap);
    },
    upgrade(req, socket, head) {
      const route = resolveRoute(req, domain, lookup);
      if (route.kind === 'rest') {
        socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      if (needsWake(route)) void woken(route).then((ready) => serveUpgrade(req, socket, head, ready));
      else serveUpgrade(req, socket, head, route);
    },
    sandboxEnded(sandboxId, address) {
      const n = streams.resetSandbox(sandboxId);
      if (address !== null) proxy.dropConnections(address);
      if (n > 0) logger.debug({ sandboxId, streams: n }, 'reset in-flight streams of ended sandbox');
    },
    close() {
      streams.resetAll();
      proxy.close();
    },
  };
}
