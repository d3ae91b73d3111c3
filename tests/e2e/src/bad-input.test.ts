import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { AuthenticationError, Sandbox, SandboxNotFoundError } from 'e2b';
import { CALL_MS, RUN_ID, assertE2bError, createSandbox, e2eTest, rawFetch, rejection, rest, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);
const WRONG_KEY = `e2b_${'0'.repeat(40)}`;
const UNKNOWN_ID = 'unknownsandbox00000000';

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

/** Ids of every sandbox the daemon lists, straight from REST. */
async function allIds(): Promise<string[]> {
  const res = await rest(stack, 'GET', '/v2/sandboxes?limit=100');
  assert.equal(res.status, 200, res.text);
  return (res.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID);
}

describe('create with bad input', () => {
  test('malformed JSON on create gets 400 {code, message}', 30_000, async () => {
    for (const path of ['/v2/sandboxes', '/sandboxes']) {
      assertE2bError(await rest(stack, 'POST', path, { body: '{"templateID": "base",' }), 400);
    }
  });

  test('a body that is not a sandbox request (no templateID, wrong types) gets 400', 30_000, async () => {
    assertE2bError(await rest(stack, 'POST', '/v2/sandboxes', { body: '{}' }), 400);
    assertE2bError(await rest(stack, 'POST', '/v2/sandboxes', { body: '{"templateID": 42}' }), 400);
    assertE2bError(await rest(stack, 'POST', '/v2/sandboxes', { body: '{"templateID": "base", "timeout": "soon"}' }), 400);
    assertE2bError(await rest(stack, 'POST', '/v2/sandboxes', { body: '[]' }), 400);
  });

  test('a negative timeout gets 400 and creates nothing', 30_000, async () => {
    const beforeIds = await allIds();
    assertE2bError(await rest(stack, 'POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'base', timeout: -5 }) }), 400);
    assertE2bError(await rest(stack, 'POST', '/sandboxes', { body: JSON.stringify({ templateID: 'base', timeout: -5 }) }), 400);
    assert.deepEqual(await allIds(), beforeIds);
  });

  test('an unknown template gets 404 {code, message} naming it, and the SDK rejects', 30_000, async () => {
    const res = await rest(stack, 'POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'no-such-template-xyz' }) });
    assertE2bError(res, 404);
    assert.match((res.json as { message: string }).message, /no-such-template-xyz/);
    await rejection(Sandbox.create('no-such-template-xyz', { ...stack.sdk }), CALL_MS, 'SDK create of an unknown template');
  });
});

describe('authentication', () => {
  test('a wrong or missing API key gets 401 {code, message} on every REST route', 30_000, async () => {
    assertE2bError(await rest(stack, 'GET', '/v2/sandboxes', { apiKey: WRONG_KEY }), 401);
    assertE2bError(await rest(stack, 'GET', '/v2/sandboxes', { apiKey: null }), 401);
    assertE2bError(await rest(stack, 'POST', '/v2/sandboxes', { apiKey: WRONG_KEY, body: '{"templateID":"base"}' }), 401);
    assertE2bError(await rest(stack, 'GET', `/sandboxes/${UNKNOWN_ID}`, { apiKey: WRONG_KEY }), 401);
    assertE2bError(await rest(stack, 'DELETE', `/sandboxes/${UNKNOWN_ID}`, { apiKey: null }), 401);
  });

  test('the SDK with a wrong API key rejects with AuthenticationError', 60_000, async () => {
    const err = await rejection(Sandbox.create({ ...stack.sdk, apiKey: WRONG_KEY }), CALL_MS, 'create with a wrong key');
    assert.ok(err instanceof AuthenticationError, `expected AuthenticationError, got ${String(err)}`);
    const listErr = await rejection(Sandbox.list({ ...stack.sdk, apiKey: WRONG_KEY }).nextItems(), CALL_MS, 'list with a wrong key');
    assert.ok(listErr instanceof AuthenticationError, `expected AuthenticationError, got ${String(listErr)}`);
  });
});

describe('unknown sandbox and bad queries', () => {
  test('REST calls on an unknown sandbox get 404 {code, message}', 30_000, async () => {
    assertE2bError(await rest(stack, 'GET', `/sandboxes/${UNKNOWN_ID}`), 404);
    assertE2bError(await rest(stack, 'DELETE', `/sandboxes/${UNKNOWN_ID}`), 404);
    assertE2bError(await rest(stack, 'POST', `/sandboxes/${UNKNOWN_ID}/timeout`, { body: '{"timeout": 30}' }), 404);
    assertE2bError(await rest(stack, 'POST', `/v2/sandboxes/${UNKNOWN_ID}/connect`, { body: '{}' }), 404);
    assertE2bError(await rest(stack, 'POST', `/sandboxes/${UNKNOWN_ID}/connect`, { body: '{"timeout": 30}' }), 404);
  });

  test('SDK calls on an unknown sandbox reject with SandboxNotFoundError', 60_000, async () => {
    for (const [label, call] of [
      ['getInfo', () => Sandbox.getInfo(UNKNOWN_ID, { ...stack.sdk })],
      ['setTimeout', () => Sandbox.setTimeout(UNKNOWN_ID, 30_000, { ...stack.sdk })],
      ['connect', () => Sandbox.connect(UNKNOWN_ID, { ...stack.sdk })],
    ] as const) {
      const err = await rejection((call as () => Promise<unknown>)(), CALL_MS, label);
      assert.ok(err instanceof SandboxNotFoundError, `${label}: expected SandboxNotFoundError, got ${String(err)}`);
    }
  });

  test('bad list queries (limit out of range or not a number, unknown state) get 400', 30_000, async () => {
    for (const query of ['limit=0', 'limit=101', 'limit=abc', 'state=sleeping']) {
      assertE2bError(await rest(stack, 'GET', `/v2/sandboxes?${query}`), 400);
    }
  });

  test('an unknown REST route gets 404 {code, message}', 30_000, async () => {
    assertE2bError(await rest(stack, 'GET', '/no/such/route'), 404);
  });
});

describe('sandbox traffic authentication', () => {
  test('agent requests without the sandbox access token are refused with 401, health is open', 240_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'bad-input', run: RUN_ID } }),
      async (sbx) => {
        const route = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983' };
        const listDir = (token?: string) =>
          rawFetch(`${stack.sandboxUrl}/filesystem.Filesystem/ListDir`, {
            method: 'POST',
            headers: { ...route, 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1', ...(token ? { 'X-Access-Token': token } : {}) },
            body: JSON.stringify({ path: '/home/user', depth: 1 }),
          });
        assert.equal((await listDir()).status, 401);
        assert.equal((await listDir('not-the-token')).status, 401);
        const unsignedRead = await rawFetch(`${stack.sandboxUrl}/files?path=%2Fetc%2Fhostname`, { headers: route });
        assert.equal(unsignedRead.status, 401, unsignedRead.text);
        const health = await rawFetch(`${stack.sandboxUrl}/health`, { headers: route });
        assert.ok(health.status >= 200 && health.status < 300, `health: ${health.status}`);
        assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), true);
      },
    );
  });
});
