import http from 'node:http';
import type { ClientRequestArgs, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { cookieAllowed } from './cookies.js';
import { canonicalHeaderName } from './header-case.js';
import { sandboxConnection } from './sandbox-dial.js';
import type { StreamRegistry } from './stream-registry.js';
import type { ResponseTap } from '../observability/execution-tracking.js';
import { portNotOpen } from '../util/e2b-error-bodies.js';
import { Headers } from '@sandboxd/protocol';

const REQUEST_ID = Headers.requestId;

/** Hop-by-hop headers (RFC 9110 §7.6.1) never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Headers that authenticate to the daemon itself: a sandbox never sees them. The daemon accepts
 * nothing but `X-API-KEY` (`app.ts`) and, at the proxy, a sandbox's `e2b-traffic-access-token`;
 * `Authorization` is the sandbox's own (envd reads the user from `Authorization: Basic`), so it
 * passes.
 */
const DAEMON_CREDENTIALS = new Set(['x-api-key', 'e2b-traffic-access-token']);

export interface ProxyTarget {
  sandboxId: string;
  address: string;
  port: number;
  /** `<port>-<sandboxId>.<domain>`: the widest `Domain` a forwarded `Set-Cookie` may carry. */
  host: string;
  /** The Host header the sandbox sees (its `maskRequestHost`); default `<address>:<port>`. */
  requestHost?: string;
  /** The sandbox's loopback secret: a refused port is then retried on the sandbox's loopback. */
  loopbackSecret?: string;
  /** Header name/value pairs added to the sandbox's response (beside its own, never replacing ours). */
  addResponseHeaders?: string[];
}

/** Request options carrying the target to the pool's `createConnection`. */
interface SandboxRequestArgs extends ClientRequestArgs {
  sandboxTarget?: ProxyTarget;
}

/**
 * The upstream connection pool: new connections dial the sandbox port directly and fall back to
 * the agent's loopback forward when refused (`sandbox-dial.ts`), so pooled keep-alive connections
 * serve loopback-bound servers too.
 */
class SandboxPortAgent extends http.Agent {
  override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const target = (options as SandboxRequestArgs).sandboxTarget;
    if (target === undefined || callback === undefined) return super.createConnection(options, callback);
    return sandboxConnection(target, {}, callback);
  }
}

/** Closes a client connection abruptly (TCP RST), so clients see a reset and not a clean end. */
export function resetSocket(socket: Duplex | null | undefined): void {
  if (socket === null || socket === undefined || socket.destroyed) return;
  const tcp = socket as Socket;
  if (typeof tcp.resetAndDestroy === 'function' && tcp.readyState !== 'opening') tcp.resetAndDestroy();
  else socket.destroy();
}

function requestHeaders(req: IncomingMessage, target: ProxyTarget, keepUpgrade: boolean): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || DAEMON_CREDENTIALS.has(name)) continue;
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === 'connection' || name === 'upgrade'))) continue;
    if (name === 'host') continue;
    headers[canonicalHeaderName(name)] = value;
  }
  headers['Host'] = target.requestHost ?? `${target.address}:${target.port}`;
  return headers;
}

/**
 * The upstream response headers a client gets: `Set-Cookie` scoped wider than the sandbox's host
 * dropped (`cookies.ts`), hop-by-hop headers too unless `keepHopByHop` (a 101's `Upgrade`).
 */
export function responseHeaders(rawHeaders: string[], target: ProxyTarget, keepHopByHop = false): { headers: string[]; droppedCookies: number } {
  const headers: string[] = [];
  let droppedCookies = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (!keepHopByHop && HOP_BY_HOP.has(name)) continue;
    // The daemon's own id of the exchange answers (set on the response before these).
    if (name === REQUEST_ID) continue;
    if (name === 'set-cookie' && !cookieAllowed(rawHeaders[i + 1]!, target.host)) {
      droppedCookies++;
      continue;
    }
    headers.push(rawHeaders[i]!, rawHeaders[i + 1]!);
  }
  if (target.addResponseHeaders) headers.push(...target.addResponseHeaders);
  return { headers, droppedCookies };
}

export interface NodeProxy {
  /**
   * Forwards one HTTP request, streaming both bodies; registered for reset under the sandbox.
   * `tap` sees the upstream response just before it is piped.
   */
  forward(req: IncomingMessage, res: ServerResponse, target: ProxyTarget, tap?: ResponseTap): void;
  /** Forwards a connection upgrade (WebSocket), piping both sockets once upstream switches. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget): void;
  /** Closes pooled idle upstream connections to one address. */
  dropConnections(address: string): void;
  /** Closes the pooled upstream connections. */
  close(): void;
}

export function createNodeProxy(streams: StreamRegistry, logger: Logger): NodeProxy {
  const agent = new SandboxPortAgent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: Infinity, maxFreeSockets: 256, timeout: 60_000 });
  const clientHeaders = (rawHeaders: string[], target: ProxyTarget, keepHopByHop = false): string[] => {
    const { headers, droppedCookies } = responseHeaders(rawHeaders, target, keepHopByHop);
    if (droppedCookies > 0) logger.debug({ sandboxId: target.sandboxId, port: target.port, droppedCookies }, 'dropped Set-Cookie scoped wider than the sandbox host');
    return headers;
  };

  function forward(req: IncomingMessage, res: ServerResponse, target: ProxyTarget, tap?: ResponseTap, attempt = 0): void {
    const options: SandboxRequestArgs = {
      host: target.address,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: requestHeaders(req, target, false),
      agent,
      sandboxTarget: target,
    };
    const upstream = http.request(options);
    const untrack = streams.add(target.sandboxId, () => {
      upstream.destroy();
      resetSocket(req.socket);
    });
    upstream.on('socket', (socket) => socket.setNoDelay(true));
    upstream.on('response', (up) => {
      up.on('close', () => {
        if (!up.complete) resetSocket(req.socket);
      });
      try {
        res.writeHead(up.statusCode ?? 502, up.statusMessage, clientHeaders(up.rawHeaders, target));
        res.flushHeaders();
      } catch (error) {
        logger.warn({ sandboxId: target.sandboxId, err: error }, 'unforwardable upstream response');
        upstream.destroy();
        resetSocket(req.socket);
        return;
      }
      tap?.(up);
      up.pipe(res);
    });
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      untrack();
      if (res.headersSent || res.destroyed) {
        resetSocket(req.socket);
        return;
      }
      // A pooled connection the agent closed meanwhile: retry once for requests without a body.
      const bodyless = req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS';
      if (upstream.reusedSocket && error.code === 'ECONNRESET' && bodyless && attempt === 0) {
        forward(req, res, target, tap, 1);
        return;
      }
      logger.debug({ sandboxId: target.sandboxId, port: target.port, err: error }, 'upstream request failed');
      const failed = portNotOpen(target.sandboxId, target.port);
      res.writeHead(failed.status, { 'content-type': 'application/json' });
      res.end(failed.body);
    });
    res.on('close', () => {
      untrack();
      if (!res.writableFinished) upstream.destroy();
    });
    if (attempt === 0) req.pipe(upstream);
    else upstream.end();
  }

  function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: ProxyTarget): void {
    const upstream = http.request({
      host: target.address,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: requestHeaders(req, target, true),
      // Half-open, so that either side's end passes through once upgraded.
      createConnection: (_options, oncreate) => sandboxConnection(target, { allowHalfOpen: true }, oncreate),
    });
    let upstreamSocket: Duplex | undefined;
    const untrack = streams.add(target.sandboxId, () => {
      upstream.destroy();
      upstreamSocket?.destroy();
      resetSocket(socket);
    });
    const writeHead = (status: number, message: string | undefined, raw: string[]): void => {
      let head = `HTTP/1.1 ${status} ${message ?? ''}\r\n`;
      for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
      socket.write(`${head}\r\n`);
    };
    upstream.on('upgrade', (up, upSocket, upHead) => {
      upstreamSocket = upSocket;
      writeHead(101, up.statusMessage, clientHeaders(up.rawHeaders, target, true));
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.pipe(socket).pipe(upSocket);
      upSocket.on('error', () => resetSocket(socket));
      upSocket.on('close', () => socket.destroy());
      socket.on('close', () => upSocket.destroy());
    });
    upstream.on('response', (up) => {
      writeHead(up.statusCode ?? 502, up.statusMessage, [...clientHeaders(up.rawHeaders, target), 'connection', 'close']);
      up.pipe(socket);
    });
    upstream.on('error', () => {
      if (upstreamSocket === undefined && socket.writable) {
        const { body } = portNotOpen(target.sandboxId, target.port);
        socket.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      } else resetSocket(socket);
    });
    socket.on('error', () => upstream.destroy());
    socket.on('close', () => {
      untrack();
      upstream.destroy();
    });
    upstream.end();
  }

  const dropConnections = (address: string): void => {
    for (const [name, sockets] of Object.entries(agent.freeSockets)) {
      if (name.startsWith(`${address}:`)) for (const socket of sockets ?? []) socket.destroy();
    }
  };

  return { forward: (req, res, target, tap) => forward(req, res, target, tap), upgrade, dropConnections, close: () => agent.destroy() };
}
