import type { HandlerContext } from '@connectrpc/connect';
import { Headers } from '@sandboxd/protocol';

/** envd's keepalive interval when the client sends no Keepalive-Ping-Interval. */
const DEFAULT_KEEPALIVE_SEC = 90;

/** Idle time after which a stream sends a keepalive event, from the `Keepalive-Ping-Interval` header (seconds). */
export function keepaliveMs(ctx: HandlerContext): number {
  const raw = ctx.requestHeader.get(Headers.keepalivePingInterval);
  const sec = raw === null ? NaN : Number(raw);
  return (Number.isFinite(sec) && sec > 0 ? sec : DEFAULT_KEEPALIVE_SEC) * 1000;
}
