import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { DaemonMetrics } from './daemon-metrics.js';

/** The route label of a request nothing but middleware matched (a 404). */
export const UNMATCHED_ROUTE = '(unmatched)';

const isMiddleware = (path: string): boolean => path === '*' || path === '/*';

/**
 * The route pattern (`/sandboxes/:sandboxID`) that answered, never the raw path: the one that
 * responded, or, when a middleware answered (a 401), the first route the request would have reached.
 */
export function routePattern(c: Context): string {
  const routes = matchedRoutes(c);
  const index = c.req.routeIndex;
  const responded = routes[index];
  if (responded !== undefined && !isMiddleware(responded.path)) return responded.path;
  return routes.slice(Math.max(0, index)).find((r) => !isMiddleware(r.path))?.path ?? UNMATCHED_ROUTE;
}

/** Counts and times every REST request; register it first, so every answer (401s, 404s) is seen. */
export function httpMetrics(metrics: DaemonMetrics): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      metrics.observeRequest({ route: routePattern(c), method: c.req.method, status: c.res.status }, (performance.now() - started) / 1000);
    }
  };
}
