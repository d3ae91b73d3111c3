import http from 'node:http';
import net from 'node:net';
import type { Socket } from 'node:net';
import { ENVD_PORT, ErrorCode, LoopbackForward, SandboxdError } from '@sandboxd/protocol';

/** Where a proxied connection goes: one port of one sandbox. */
export interface DialTarget {
  address: string;
  port: number;
  /** The sandbox's `loopbackSecret`; without it a refused port is not retried over the agent. */
  loopbackSecret?: string | undefined;
}

export interface DialOptions {
  /** Keep each direction open after the other ends (upgraded connections: half-close passes). */
  allowHalfOpen?: boolean;
  /** Bound of the agent's CONNECT handshake (its loopback dial included); default 10 s. */
  timeoutMs?: number;
}

/** Whether a refused port is retried through the agent's loopback forward. */
export const forwardsLoopback = (target: DialTarget): boolean =>
  target.loopbackSecret !== undefined && !LoopbackForward.excludedPorts.includes(target.port);

/**
 * When the sandbox's side ends a connection first (a server answering `Connection: close`), the
 * daemon answers with a reset rather than its own FIN: the sandbox's endpoint then closes at once
 * instead of sitting in TIME_WAIT for a minute of its running time, which runsc 20240729 refuses
 * to checkpoint (pause to disk, snapshots, fork). All the data has arrived by then.
 */
function resetOnPeerEnd(socket: Socket): void {
  socket.once('end', () => {
    if (!socket.destroyed) socket.resetAndDestroy();
  });
}

function dialDirect(target: DialTarget, allowHalfOpen: boolean): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Half-open at the socket either way: a non-half-open one would send its FIN on the peer's
    // end before any listener could reset it instead.
    const socket = net.connect({ host: target.address, port: target.port, allowHalfOpen: true });
    if (!allowHalfOpen) resetOnPeerEnd(socket);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** What the agent answered instead of 200, read from a non-2xx CONNECT response. */
function refusal(status: number, body: string, port: number): SandboxdError {
  let message = body;
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    // not JSON: keep the text
  }
  return new SandboxdError(ErrorCode.SANDBOX_UNREACHABLE, `loopback forward to port ${port} refused by the agent: ${status} ${message}`.trim(), {
    details: { status },
  });
}

/**
 * A TCP stream to `localhost:<port>` inside the sandbox, through the agent's `CONNECT` route on
 * envd's port (authenticated with the sandbox's loopback secret). Rejects with
 * SANDBOX_UNREACHABLE when the agent refuses (nothing listens, wrong secret, route off) and
 * TIMEOUT after `timeoutMs`.
 */
export function openLoopbackTunnel(target: DialTarget & { loopbackSecret: string }, options: DialOptions = {}): Promise<Socket> {
  const allowHalfOpen = options.allowHalfOpen ?? false;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    const req = http.request({
      host: target.address,
      port: ENVD_PORT,
      method: 'CONNECT',
      path: LoopbackForward.target(target.port),
      headers: { host: `${target.address}:${ENVD_PORT}`, 'proxy-authorization': LoopbackForward.authorization(target.loopbackSecret) },
      createConnection: () => (socket = net.connect({ host: target.address, port: ENVD_PORT, allowHalfOpen })),
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new SandboxdError(ErrorCode.TIMEOUT, `loopback forward to port ${target.port} took longer than ${timeoutMs} ms`));
    }, timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    req.once('connect', (res, tunnel: Socket, head: Buffer) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        tunnel.destroy();
        reject(refusal(res.statusCode ?? 0, head.toString(), target.port));
        return;
      }
      if (head.length > 0) tunnel.unshift(head);
      resolve(tunnel);
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body = (body + chunk).slice(0, 2048)));
      res.once('end', () => {
        socket?.destroy();
        fail(refusal(res.statusCode ?? 0, body, target.port));
      });
      res.once('error', fail);
    });
    req.once('error', (error) => {
      if (error instanceof SandboxdError) return fail(error);
      fail(new SandboxdError(ErrorCode.SANDBOX_UNREACHABLE, `loopback forward to port ${target.port}: ${error.message}`, { cause: error }));
    });
    req.end();
  });
}

/**
 * Connects to a sandbox port: directly to `<address>:<port>` (a server bound to 0.0.0.0 or the
 * sandbox's address), and when that is refused, to the same port on the sandbox's loopback
 * through the agent (`openLoopbackTunnel`). Other errors, and ports that are never forwarded
 * (`forwardsLoopback`), fail as the direct dial did.
 */
export async function dialSandboxPort(target: DialTarget, options: DialOptions = {}): Promise<Socket> {
  try {
    return await dialDirect(target, options.allowHalfOpen ?? false);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || !forwardsLoopback(target)) throw error;
    return openLoopbackTunnel({ ...target, loopbackSecret: target.loopbackSecret! }, options);
  }
}

/**
 * `createConnection` of an `http.request` or `http.Agent`: `dialSandboxPort` in the callback form
 * Node accepts (the request waits for the callback).
 */
export function sandboxConnection(
  target: DialTarget,
  options: DialOptions,
  oncreate: (error: Error | null, socket: Socket) => void,
): undefined {
  dialSandboxPort(target, options).then(
    (socket) => oncreate(null, socket),
    (error: Error) => oncreate(error, undefined as unknown as Socket),
  );
  return undefined;
}
