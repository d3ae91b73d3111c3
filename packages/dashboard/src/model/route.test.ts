import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute, routeHash, type Route } from './route.js';

describe('routes', () => {
  it('parses each page and falls back to the sandbox list', () => {
    assert.deepEqual(parseRoute(''), { page: 'sandboxes' });
    assert.deepEqual(parseRoute('#/'), { page: 'sandboxes' });
    assert.deepEqual(parseRoute('#/sandboxes/abc123'), { page: 'sandbox', sandboxId: 'abc123' });
    assert.deepEqual(parseRoute('#/templates'), { page: 'templates' });
    assert.deepEqual(parseRoute('#/templates/base%2Fx'), { page: 'template', templateId: 'base/x' });
    assert.deepEqual(parseRoute('#/usage'), { page: 'usage' });
    assert.deepEqual(parseRoute('#/keys'), { page: 'keys' });
    assert.deepEqual(parseRoute('#/sandboxes/a/b'), { page: 'sandboxes' });
    assert.deepEqual(parseRoute('#/templates/%E0%A4%A'), { page: 'sandboxes' });
    assert.deepEqual(parseRoute('#/nope'), { page: 'sandboxes' });
  });

  it('routeHash is the inverse of parseRoute', () => {
    const routes: Route[] = [{ page: 'sandboxes' }, { page: 'sandbox', sandboxId: 'i1x' }, { page: 'templates' }, { page: 'template', templateId: 'a b/c' }, { page: 'usage' }, { page: 'keys' }];
    for (const r of routes) assert.deepEqual(parseRoute(routeHash(r)), r);
  });
});
