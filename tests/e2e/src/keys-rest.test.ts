import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox } from 'e2b';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, rejection, rest } from './helpers.js';
import { sandboxdCli } from './keys-cli.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

const as = (key: string) => ({ ...stack.sdk, apiKey: key });

describe('key management over REST (beyond E2B)', () => {
  test('POST /keys makes a key the SDK uses; PATCH takes a scope away at once; DELETE revokes it; GET /keys shows no secret', 300_000, async () => {
    const created = await rest(stack, 'POST', '/keys', { body: JSON.stringify({ name: `rest-${RUN_ID}`, scopes: ['sandboxes:create', 'sandboxes:read'], quota: { maxSandboxes: 1 } }) });
    assert.equal(created.status, 201, created.text);
    const { id, key } = created.json as { id: string; key: string };

    const sbx = await withTimeout(Sandbox.create({ ...as(key), metadata: { suite: 'keys-rest', run: RUN_ID }, requestTimeoutMs: CREATE_MS }), CREATE_MS, 'Sandbox.create with the new key');
    try {
      // Its quota holds: a second sandbox is refused.
      const second = await rejection(Sandbox.create({ ...as(key), requestTimeoutMs: CREATE_MS }), CREATE_MS, 'second create over the quota');
      assert.match(String(second), /maxSandboxes|quota|concurrent/i);

      const listed = await rest(stack, 'GET', '/keys');
      assert.equal(listed.status, 200);
      assert.equal(listed.text.includes(key), false, 'no secret in GET /keys');
      assert.deepEqual((listed.json as Array<{ id: string; quota: unknown }>).find((k) => k.id === id)?.quota, { maxSandboxes: 1 });
      // A scoped key cannot manage keys.
      assert.equal((await rest(stack, 'GET', '/keys', { apiKey: key })).status, 403);

      const patched = await rest(stack, 'PATCH', `/keys/${id}`, { body: JSON.stringify({ scopes: ['sandboxes:read'] }) });
      assert.equal(patched.status, 200, patched.text);
      const refused = await rejection(Sandbox.kill(sbx.sandboxId, as(key)), CALL_MS, 'kill without sandboxes:create');
      assert.match(String(refused), /sandboxes:create/);
      assert.equal((await withTimeout(Sandbox.getInfo(sbx.sandboxId, as(key)), CALL_MS, 'getInfo')).sandboxId, sbx.sandboxId);

      assert.equal((await rest(stack, 'DELETE', `/keys/${id}`)).status, 204);
      assert.equal((await rest(stack, 'GET', '/v2/sandboxes', { apiKey: key })).status, 401);
      const gone = await rest(stack, 'DELETE', `/keys/${id}`);
      assert.equal(gone.status, 404);
      assert.equal((gone.json as { error_code?: string }).error_code, 'API_KEY_NOT_FOUND');
    } finally {
      await withTimeout(Sandbox.kill(sbx.sandboxId, as(stack.apiKey)), CALL_MS, 'kill').catch(() => false);
    }
  });

  test('the CLI manages keys through the running daemon: create, update, list, revoke', 120_000, async () => {
    const before = stack.log().length;
    const made = await sandboxdCli(stack, ['keys', 'create', `cli-${RUN_ID}`, '--scope', 'sandboxes:read', '--json']);
    assert.equal(made.code, 0, made.stderr);
    const { id } = JSON.parse(made.stdout) as { id: string };
    const updated = await sandboxdCli(stack, ['keys', 'update', id, '--max-sandboxes', '4', '--json']);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual((JSON.parse(updated.stdout) as { quota: unknown }).quota, { maxSandboxes: 4 });
    const listed = await sandboxdCli(stack, ['keys', 'list']);
    assert.match(listed.stdout, new RegExp(`${id}.*sandboxes:read.*sandboxes=4`));
    const revoked = await sandboxdCli(stack, ['keys', 'revoke', id]);
    assert.equal(revoked.stdout.trim(), `revoked ${id}`);
    assert.equal((await sandboxdCli(stack, ['keys', 'revoke', id])).stdout.trim(), `no active key ${id}`);
    // Every one of those went through the daemon's /keys API.
    const routes = stack
      .log()
      .slice(before)
      .split('\n')
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as { method: string; route: string; status: number })
      .filter((r) => r.route.startsWith('/keys'))
      .map((r) => `${r.method} ${r.route} ${r.status}`);
    assert.deepEqual(routes, ['POST /keys 201', 'PATCH /keys/:keyID 200', 'GET /keys 200', 'DELETE /keys/:keyID 204', 'DELETE /keys/:keyID 404']);
  });
});
