import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Hono } from 'hono';
import { UNMATCHED_ROUTE, routePattern } from './http-metrics.js';

describe('routePattern', () => {
  it('names the route that answered, the one a middleware answered for, or none', async () => {
    const seen: string[] = [];
    const app = new Hono();
    app.use('*', async (c, next) => {
      await next();
      seen.push(routePattern(c));
    });
    app.use('*', async (c, next) => (c.req.header('x-deny') ? c.body(null, 401) : next()));
    app.get('/sandboxes/metrics', (c) => c.body(null, 200));
    app.get('/sandboxes/:sandboxID', (c) => c.body(null, 200));
    const sub = new Hono();
    sub.delete('/items/:id', (c) => c.body(null, 204));
    app.route('/v1', sub);
    await app.request('/sandboxes/abc123');
    await app.request('/sandboxes/metrics');
    await app.request('/sandboxes/abc123', { headers: { 'x-deny': '1' } });
    await app.request('/v1/items/42', { method: 'DELETE' });
    await app.request('/nowhere/42');
    assert.deepEqual(seen, ['/sandboxes/:sandboxID', '/sandboxes/metrics', '/sandboxes/:sandboxID', '/v1/items/:id', UNMATCHED_ROUTE]);
  });
});
