import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode } from '@sandboxd/protocol';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { fakeRuntimesClosedAfter } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';

const newRuntime = fakeRuntimesClosedAfter(after);

function setup() {
  const db = openDatabase(':memory:');
  const apiKeys = createApiKeyStore(db, TEST_API_KEY);
  const sandboxes = createSandboxService({ runtime: newRuntime(), templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });
  const app = createApp({ sandboxes, apiKeys, logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600 });
  const call = async (method: string, path: string, body?: unknown, key = TEST_API_KEY) => {
    const res = await app.request(path, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  return { call, apiKeys };
}

describe('key management over REST', () => {
  it('creates a key (the secret once), lists without secrets, patches scopes and quota, revokes', async () => {
    const { call } = setup();
    const created = await call('POST', '/keys', { name: 'ci', scopes: ['sandboxes:read', 'sandboxes:read'], quota: { maxSandboxes: 2 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(created.body.key, /^e2b_[0-9a-f]{40}$/);
    assert.deepEqual(created.body.scopes, ['sandboxes:read']);
    assert.deepEqual(created.body.quota, { maxSandboxes: 2 });
    const secret = created.body.key as string;
    const id = created.body.id as string;

    // The new key works, within its scope.
    assert.equal((await call('GET', '/v2/sandboxes', undefined, secret)).status, 200);
    assert.equal((await call('POST', '/v2/sandboxes', { templateID: 'base' }, secret)).status, 403);
    // Key management needs admin.
    const refused = await call('GET', '/keys', undefined, secret);
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /"admin"/);

    const listed = await call('GET', '/keys');
    assert.equal(listed.status, 200);
    assert.equal(JSON.stringify(listed.body).includes(secret), false, 'no secret in the list');
    assert.equal(listed.body.find((k: { id: string }) => k.id === id).name, 'ci');
    assert.equal((await call('GET', `/keys/${id}`)).body.mask, created.body.mask);

    const patched = await call('PATCH', `/keys/${id}`, { scopes: ['sandboxes:read', 'sandboxes:create'], quota: { maxSandboxes: null, maxTimeoutSec: 600 } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual(patched.body.scopes, ['sandboxes:create', 'sandboxes:read']);
    assert.deepEqual(patched.body.quota, { maxTimeoutSec: 600 });
    assert.equal((await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 60 }, secret)).status, 201, 'the new scope applies at once');

    assert.equal((await call('DELETE', `/keys/${id}`)).status, 204);
    assert.equal((await call('GET', '/v2/sandboxes', undefined, secret)).status, 401, 'a revoked key is refused');
    const again = await call('DELETE', `/keys/${id}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.error_code, ErrorCode.API_KEY_NOT_FOUND);
    assert.equal((await call('PATCH', `/keys/${id}`, { scopes: ['admin'] })).body.error_code, ErrorCode.API_KEY_NOT_FOUND);
    assert.notEqual((await call('GET', '/keys')).body.find((k: { id: string }) => k.id === id).revokedAt, null, 'revoked keys stay listed');
  });

  it('validates bodies at the edge: unknown scopes, fields and bad limits are 400 naming them; a bare create is an admin key', async () => {
    const { call } = setup();
    const badScope = await call('POST', '/keys', { scopes: ['root'] });
    assert.equal(badScope.status, 400);
    assert.match(badScope.body.message, /scopes/);
    assert.equal(badScope.body.error_code, ErrorCode.BAD_REQUEST);
    assert.match((await call('POST', '/keys', { quota: { maxSandboxes: 0 } })).body.message, /quota\.maxSandboxes/);
    assert.match((await call('POST', '/keys', { quota: { maxCpu: 1 } })).body.message, /maxCpu|unrecognized/i);
    assert.match((await call('POST', '/keys', { scopes: [] })).body.message, /no scope/);
    assert.equal((await call('PATCH', '/keys/key_x', {})).status, 400);
    const bare = await call('POST', '/keys', {});
    assert.equal(bare.status, 201);
    assert.deepEqual(bare.body.scopes, ['admin']);
    assert.equal(bare.body.name, 'api');
  });
});
