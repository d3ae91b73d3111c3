import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSandboxdError, toE2bErrorBody } from '@sandboxd/protocol';
import { ALL_SCOPES, hasScope, parseScopes, requireScope } from './scopes.js';
import { routeScope } from './route-scopes.js';

describe('scopes', () => {
  it('parses comma-, space-separated and repeated scopes, dropping duplicates', () => {
    assert.deepEqual(parseScopes(['sandboxes:read,sandboxes:create', 'sandboxes:read admin']), ['sandboxes:create', 'sandboxes:read', 'admin']);
    assert.deepEqual(parseScopes([]), []);
  });

  it('rejects an unknown scope naming it and the known ones', () => {
    assert.throws(() => parseScopes(['sandboxes:read,sandboxes:write']), (e) => isSandboxdError(e) && e.code === ErrorCode.BAD_REQUEST && /"sandboxes:write".*sandboxes:create/.test(e.message));
  });

  it('admin grants every scope; others only themselves', () => {
    for (const scope of ALL_SCOPES) assert.equal(hasScope(['admin'], scope), true);
    assert.equal(hasScope(['sandboxes:read'], 'sandboxes:read'), true);
    assert.equal(hasScope(['sandboxes:read'], 'sandboxes:create'), false);
    assert.equal(hasScope([], 'sandboxes:read'), false);
  });

  it('a missing scope is 403 in E2B shape naming it', () => {
    assert.doesNotThrow(() => requireScope(['sandboxes:create'], 'sandboxes:create'));
    try {
      requireScope(['sandboxes:read'], 'sandboxes:create');
      assert.fail('no error');
    } catch (error) {
      assert.ok(isSandboxdError(error));
      assert.equal(error.status, 403);
      const body = toE2bErrorBody(error) as { code: number; message: string };
      assert.equal(body.code, 403);
      assert.match(body.message, /lacks the scope "sandboxes:create"/);
    }
  });
});

describe('route scopes', () => {
  const cases: Array<[string, string, string | null]> = [
    ['POST', '/sandboxes', 'sandboxes:create'],
    ['POST', '/v2/sandboxes', 'sandboxes:create'],
    ['DELETE', '/sandboxes/iabc', 'sandboxes:create'],
    ['POST', '/sandboxes/iabc/connect', 'sandboxes:use'],
    ['POST', '/v2/sandboxes/iabc/connect', 'sandboxes:use'],
    ['POST', '/sandboxes/iabc/timeout', 'sandboxes:use'],
    ['POST', '/sandboxes/iabc/refreshes', 'sandboxes:use'],
    ['POST', '/sandboxes/iabc/pause', 'sandboxes:use'],
    ['PUT', '/sandboxes/iabc/network', 'sandboxes:use'],
    ['GET', '/v2/sandboxes', 'sandboxes:read'],
    ['GET', '/sandboxes', 'sandboxes:read'],
    ['GET', '/sandboxes/iabc', 'sandboxes:read'],
    ['HEAD', '/sandboxes/iabc', 'sandboxes:read'],
    ['GET', '/sandboxes/metrics', 'sandboxes:read'],
    ['GET', '/v2/sandboxes/iabc/logs', 'sandboxes:read'],
    ['GET', '/templates', null],
    ['GET', '/v3/templates/abc/builds/1/status', null],
    ['POST', '/v3/templates', 'templates:build'],
    ['DELETE', '/templates/abc', 'templates:build'],
    ['GET', '/usage', null],
    ['GET', '/something-new', 'admin'],
    ['POST', '/sandboxes/iabc/unknown', 'admin'],
    // The agent's POST /adopt (the warm pool's claim) is no daemon route: no scoped key reaches it.
    ['POST', '/adopt', 'admin'],
    ['POST', '/sandboxes/iabc/adopt', 'admin'],
  ];
  for (const [method, path, need] of cases) {
    it(`${method} ${path} needs ${need ?? 'any key'}`, () => assert.equal(routeScope(method, path), need));
  }
});
