import type { HandlerContext } from '@connectrpc/connect';
import { Headers } from '@sandboxd/protocol';

/** envd's keepalive interval when the client sends no Keepalive-Ping-Interval. */
const DEFAULT_KEEPALIVE_SEC = 90;
const MIN_KEEPALIVE_SEC = 1;
const MAX_KEEPALIVE_SEC = 24 * 60 * 60;

/** Idle time after which a stream sends a keepalive event, from the `Keepalive-Ping-Interval` header (seconds). */
export function keepaliveMs(ctx: HandlerContext): number {
  const raw = ctx.requestHeader.get(Headers.keepalivePingInterval);
  const sec = raw === null ? NaN : Number(raw);
  if (!Number.isFinite(sec) || sec <= 0) return DEFAULT_KEEPALIVE_SEC * 1000;
  // Clamped: a tiny interval spun out keepalives as fast as the socket took them, a huge one
  // overflowed the timer (which then fires after 1 ms).
  return Math.min(Math.max(sec, MIN_KEEPALIVE_SEC), MAX_KEEPALIVE_SEC) * 1000;
}
