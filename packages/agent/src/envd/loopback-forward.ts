import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ErrorCode, LoopbackForward, SandboxdError, parseLoopbackTarget } from '@sandboxd/protocol';
import { isAgentPort } from '../lib/agent-ports.js';
import type { Logger } from '../logger.js';

export interface LoopbackForwardOptions {
  /**
   * `AgentConfig.loopbackSecret`, or a getter read at each CONNECT (an adopt may replace it);
   * undefined turns the route off (every CONNECT gets 404).
   */
  secret: string | undefined | (() => string | undefined);
  logger: Logger;
  /** Bound of dialling one loopback address; default 5 s. */
  connectTimeoutMs?: number;
}

/** The `connect` listener of envd's HTTP server, and the tunnels it holds open. */
export interface LoopbackForwarder {
  onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Open tunnels (both ends counted once). */
  readonly open: number;
  /** Destroys every open tunnel (agent shutdown: `server.close()` would wait for them). */
  closeAll(): void;
}

/** The addresses a loopback-bound server can listen on, in the order they are tried. */
const LOOPBACK_HOSTS = ['127.0.0.1', '::1'] as const;
/** Dial errors meaning "nothing listens there" (`::1` may have no route when IPv6 is off). */
const NOT_LISTENING = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL', 'ENETUNREACH', 'EAFNOSUPPORT', 'EHOSTUNREACH']);

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

function reply(socket: Duplex, status: number, reason: string, message: string, extra = ''): void {
  const body = JSON.stringify({ code: status, message });
  if (!socket.writable) return void socket.destroy();
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${extra}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

function dialOnce(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const upstream = connect({ host, port, allowHalfOpen: true });
    const timer = setTimeout(() => {
      upstream.destroy();
      reject(new SandboxdError(ErrorCode.TIMEOUT, `dialling ${host}:${port} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    upstream.once('connect', () => {
      clearTimeout(timer);
      upstream.off('error', reject);
      resolve(upstream);
    });
    upstream.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Connects to 127.0.0.1:port, then [::1]:port; rejects with the last error when neither listens. */
async function dialLoopback(port: number, timeoutMs: number): Promise<Socket> {
  let last: unknown;
  for (const host of LOOPBACK_HOSTS) {
    try {
      return await dialOnce(host, port, timeoutMs);
    } catch (err) {
      last = err;
      if (!NOT_LISTENING.has((err as NodeJS.ErrnoException).code ?? '')) break;
    }
  }
  throw last;
}

/**
 * The daemon's route to servers bound to the sandbox's loopback: `CONNECT localhost:<port>` with
 * `Proxy-Authorization: Bearer <secret>` (the per-sandbox secret only the daemon and root inside
 * know; the envd access token is not accepted). Answers 404 when off, 407 without the secret, 400
 * for any other target, 403 for the agent's own ports (envd, code interpreter, kernels), 502 when
 * nothing listens; otherwise 200 and the connection becomes a byte stream to the loopback server,
 * half-close and backpressure passing through (`pipe` both ways over half-open sockets).
 */
export function createLoopbackForwarder(options: LoopbackForwardOptions): LoopbackForwarder {
  const { secret, logger } = options;
  const timeoutMs = options.connectTimeoutMs ?? 5_000;
  const expectedNow = (): Buffer | undefined => {
    const current = typeof secret === 'function' ? secret() : secret;
    return current === undefined ? undefined : digest(LoopbackForward.authorization(current));
  };
  const tunnels = new Set<Duplex>();

  const authorised = (req: IncomingMessage, expected: Buffer): boolean => {
    const presented = req.headers['proxy-authorization'];
    return typeof presented === 'string' && timingSafeEqual(digest(presented), expected);
  };

  const onConnect = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const expected = expectedNow();
    if (expected === undefined) return reply(socket, 404, 'Not Found', 'loopback forwarding is off in this sandbox');
    if (!authorised(req, expected)) {
      logger.warn('loopback forward without the daemon secret', { target: req.url });
      return reply(socket, 407, 'Proxy Authentication Required', 'loopback forwarding is for the daemon only', 'proxy-authenticate: Bearer\r\n');
    }
    const port = parseLoopbackTarget(req.url);
    if (port === undefined) return reply(socket, 400, 'Bad Request', `CONNECT target must be localhost:<port>, got ${JSON.stringify(req.url)}`);
    if (LoopbackForward.excludedPorts.includes(port) || isAgentPort(port)) return reply(socket, 403, 'Forbidden', `port ${port} is the agent's own`);

    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    dialLoopback(port, timeoutMs).then(
      (upstream) => {
        if (socket.destroyed) return void upstream.destroy();
        upstream.setNoDelay(true);
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
        upstream.once('close', () => socket.destroy());
        socket.once('close', () => upstream.destroy());
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
      },
      (err: unknown) => {
        const code = (err as NodeJS.ErrnoException).code;
        reply(socket, 502, 'Bad Gateway', `nothing listens on port ${port} of 127.0.0.1 or ::1 (${code ?? String(err)})`);
      },
    );
  };

  return {
    onConnect,
    get open() {
      return tunnels.size;
    },
    closeAll() {
      for (const socket of tunnels) socket.destroy();
      tunnels.clear();
    },
  };
}
