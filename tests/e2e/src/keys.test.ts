import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { NotFoundError, Sandbox } from 'e2b';
import { CALL_MS, CREATE_MS, RUN_ID, assertE2bError, e2eTest, rejection, rest, run } from './helpers.js';
import { createKey, sandboxdCli, type CreatedKey } from './keys-cli.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);
let readOnly: CreatedKey;
let keyA: CreatedKey;
let keyB: CreatedKey;
let single: CreatedKey;
const USER = ['--scope', 'sandboxes:create,sandboxes:use', '--scope', 'sandboxes:read'];

before(async () => {
  stack = await startStack();
  readOnly = await createKey(stack, 'read-only', ['--scope', 'sandboxes:read']);
  keyA = await createKey(stack, 'a', USER);
  keyB = await createKey(stack, 'b', USER);
  single = await createKey(stack, 'single', [...USER, '--max-sandboxes', '1', '--max-timeout', '600']);
});
after(async () => {
  await stack?.stop();
});

const as = (key: CreatedKey | string) => ({ ...stack.sdk, apiKey: typeof key === 'string' ? key : key.key });
const create = (key: CreatedKey, opts: { timeoutMs?: number } = {}) =>
  withTimeout(Sandbox.create({ ...as(key), metadata: { suite: 'keys', run: RUN_ID }, requestTimeoutMs: CREATE_MS, ...opts }), CREATE_MS, 'Sandbox.create');
const listIds = async (key: CreatedKey | string): Promise<string[]> => {
  const paginator = Sandbox.list({ ...as(key), query: { metadata: { suite: 'keys', run: RUN_ID } } });
  const ids: string[] = [];
  while (paginator.hasNext) ids.push(...(await withTimeout(paginator.nextItems(), CALL_MS, 'Sandbox.list')).map((s) => s.sandboxId));
  return ids.sort();
};
const killQuietly = (sbx: Sandbox | undefined) => (sbx ? withTimeout(Sandbox.kill(sbx.sandboxId, as(stack.apiKey)), CALL_MS, 'kill').catch(() => false) : undefined);

describe('scoped API keys through the official SDK', () => {
  test('keys list shows each key with its scopes and quota', 60_000, async () => {
    const r = await sandboxdCli(stack, ['keys', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ID\s+NAME\s+KEY\s+SCOPES\s+QUOTA/);
    const line = (id: string) => r.stdout.split('\n').find((l) => l.startsWith(id)) ?? '';
    assert.match(line(readOnly.id), /read-only\s+e2b_\S+\s+sandboxes:read\s+-/);
    assert.match(line(single.id), /sandboxes:create,sandboxes:use,sandboxes:read\s+sandboxes=1,timeout=600s/);
    const json = JSON.parse((await sandboxdCli(stack, ['keys', 'list', '--json'])).stdout) as Array<{ id: string; scopes: string[] }>;
    assert.deepEqual(json.find((k) => k.id === readOnly.id)?.scopes, ['sandboxes:read']);
  });

  test('GET /metrics needs metrics:read (or admin): a scraper key scrapes, a sandbox key gets 403 naming the scope', 60_000, async () => {
    const scraper = await createKey(stack, 'scraper', ['--scope', 'metrics:read']);
    const scraped = await rest(stack, 'GET', '/metrics', { apiKey: null, headers: { authorization: `Bearer ${scraper.key}` } });
    assert.equal(scraped.status, 200);
    assert.match(scraped.text, /^# HELP sandboxd_/m);
    const refused = await rest(stack, 'GET', '/metrics', { apiKey: keyA.key });
    assertE2bError(refused, 403);
    assert.match((refused.json as { message: string }).message, /lacks the scope "metrics:read"/);
    // The scraper key is nothing more.
    assertE2bError(await rest(stack, 'GET', '/v2/sandboxes', { apiKey: scraper.key }), 403);
  });

  test('a read-only key cannot create (403 naming the scope) but lists', 120_000, async () => {
    const error = await rejection(Sandbox.create({ ...as(readOnly) }), CREATE_MS, 'read-only create');
    assert.match(String(error), /403: .*lacks the scope "sandboxes:create"/);
    assert.deepEqual(await listIds(readOnly), []);
  });

  test('key A cannot see or kill key B\'s sandbox; admin sees both', 300_000, async () => {
    let sa: Sandbox | undefined;
    let sb: Sandbox | undefined;
    try {
      sa = await create(keyA);
      sb = await create(keyB);
      assert.deepEqual(await listIds(keyA), [sa.sandboxId]);
      assert.deepEqual(await listIds(keyB), [sb.sandboxId]);
      assert.deepEqual(await listIds(stack.apiKey), [sa.sandboxId, sb.sandboxId].sort());
      const info = await rejection(Sandbox.getInfo(sb.sandboxId, as(keyA)), CALL_MS, 'getInfo of another key\'s sandbox');
      assert.ok(info instanceof NotFoundError, String(info));
      assert.equal(await withTimeout(Sandbox.kill(sb.sandboxId, as(keyA)), CALL_MS, 'kill by another key'), false);
      await rejection(Sandbox.connect(sb.sandboxId, as(keyA)), CALL_MS, 'connect to another key\'s sandbox');
      await rejection(Sandbox.setTimeout(sb.sandboxId, 60_000, as(keyA)), CALL_MS, 'setTimeout of another key\'s sandbox');
      // B's sandbox is untouched and works for B.
      assert.equal((await run(sb, 'echo still-here')).stdout, 'still-here\n');
      const again = await withTimeout(Sandbox.connect(sb.sandboxId, as(keyB)), CALL_MS, 'connect by owner');
      assert.equal((await run(again, 'echo mine')).stdout, 'mine\n');
      assert.equal(await withTimeout(Sandbox.kill(sb.sandboxId, as(keyB)), CALL_MS, 'kill by owner'), true);
      assert.deepEqual(await listIds(keyB), []);
    } finally {
      await killQuietly(sa);
      await killQuietly(sb);
    }
  });

  test('a quota of 1 concurrent sandbox refuses the second with a clear error, and the max timeout', 300_000, async () => {
    let first: Sandbox | undefined;
    try {
      first = await create(single);
      const second = await rejection(Sandbox.create({ ...as(single) }), CREATE_MS, 'second sandbox over the quota');
      assert.equal((second as Error).name, 'RateLimitError', String(second));
      assert.match(String(second), /max-sandboxes quota: 1 of 1 concurrent sandboxes/);
      await first.kill();
      first = undefined;
      const long = await rejection(Sandbox.create({ ...as(single), timeoutMs: 3_600_000 }), CREATE_MS, 'timeout over the quota');
      assert.match(String(long), /400: timeout 3600 s exceeds this API key's max-timeout quota of 600 s/);
      first = await create(single);
      assert.equal((await run(first, 'echo ok')).stdout, 'ok\n');
    } finally {
      await killQuietly(first);
    }
  });
});
