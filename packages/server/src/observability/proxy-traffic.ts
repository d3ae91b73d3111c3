import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { DaemonMetrics } from './daemon-metrics.js';
import { portClass } from './port-class.js';

/** Byte counters of a client connection (a net.Socket; 0 for any other duplex). */
const counters = (socket: Duplex): { read: number; written: number } => {
  const s = socket as Partial<Socket>;
  return { read: s.bytesRead ?? 0, written: s.bytesWritten ?? 0 };
};

/**
 * Counts one proxied exchange when its response closes: the bytes its client connection carried
 * meanwhile (the request body and the response with its headers; request headers were read before).
 * Reads the socket's counters only, so it never touches the streams being forwarded.
 */
export function trackProxyExchange(metrics: DaemonMetrics, req: IncomingMessage, res: ServerResponse, port: number | undefined): void {
  const socket = req.socket;
  const start = counters(socket);
  res.once('close', () => {
    const end = counters(socket);
    metrics.observeProxy(portClass(port), end.read - start.read, end.written - start.written);
  });
}

/** Counts one proxied upgrade (WebSocket) when its client connection closes: every byte it carried after the request head. */
export function trackProxyUpgrade(metrics: DaemonMetrics, socket: Duplex, head: Buffer, port: number | undefined): void {
  const start = counters(socket);
  start.read -= head.length;
  socket.once('close', () => {
    const end = counters(socket);
    metrics.observeProxy(portClass(port), end.read - start.read, end.written - start.written);
  });
}
