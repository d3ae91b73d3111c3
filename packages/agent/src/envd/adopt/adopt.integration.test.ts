import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Adopt } from '@sandboxd/protocol';
import type { AdoptRequest } from '@sandboxd/protocol';
import { startAgent } from '../../test/agent-fixture.js';
import type { AgentFixture } from '../../test/agent-fixture.js';

const SECRET = 'daemon-secret-0123456789abcdef';

const identity = (generation: number, overrides: Partial<AdoptRequest> = {}): AdoptRequest => ({
  generation,
  sandboxId: 'sbx-claimed',
  templateId: 'base',
  accessToken: 'claimed-token',
  envVars: { CLAIMED: 'yes', SHARED: 'new' },
  defaultUser: 'root',
  ...overrides,
});

/** Runs `printenv` through the process RPC (Connect JSON over HTTP/1.1) with `headers`. */
async function printenv(fx: AgentFixture, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const body = JSON.stringify({ process: { cmd: '/usr/bin/env', args: [], envs: {} }, stdin: false });
  const frame = Buffer.alloc(5 + Buffer.byteLength(body));
  frame.writeUInt32BE(Buffer.byteLength(body), 1);
  frame.write(body, 5);
  const res = await fetch(`${fx.url}/process.Process/Start`, {
    method: 'POST',
    headers: { 'content-type': 'application/connect+json', ...headers },
    body: frame,
  });
  const raw = Buffer.from(await res.arrayBuffer());
  let text = '';
  if (res.status !== 200) return { status: res.status, text: raw.toString() };
  for (let at = 0; at + 5 <= raw.length; ) {
    const size = raw.readUInt32BE(at + 1);
    const message = JSON.parse(raw.subarray(at + 5, at + 5 + size).toString()) as { event?: { data?: { stdout?: string } } };
    const out = message.event?.data?.stdout;
    if (out !== undefined) text += Buffer.from(out, 'base64').toString();
    at += 5 + size;
  }
  return { status: res.status, text };
}

describe('POST /adopt (real agent)', () => {
  let fx: AgentFixture;
  const post = (body: unknown, headers: Record<string, string> = { authorization: Adopt.authorization(SECRET) }) =>
    fetch(`${fx.url}${Adopt.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  before(async () => {
    fx = await startAgent({ loopbackSecret: SECRET, envVars: { POOLED: 'yes', SHARED: 'old' }, sandboxId: 'sbx-pooled' });
  });
  after(async () => {
    await fx.stop();
  });

  it('refuses requests without the daemon secret: 401 bare or with an access token, 403 with a wrong secret', async () => {
    assert.equal((await post(identity(1), {})).status, 401);
    assert.equal((await post(identity(1), { 'x-access-token': 'claimed-token' })).status, 401);
    assert.equal((await post(identity(1), { authorization: 'Basic cm9vdDo=' })).status, 401);
    const wrong = await post(identity(1), { authorization: Adopt.authorization('not-the-secret') });
    assert.equal(wrong.status, 403);
    assert.deepEqual(await (await fetch(`${fx.url}/envs`)).json(), { POOLED: 'yes', SHARED: 'old' });
  });

  it('rejects a malformed identity with 400 and changes nothing', async () => {
    const res = await post({ ...identity(1), envVars: { 'BAD-NAME': 'x' } });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /BAD-NAME/);
    assert.equal((await post({ ...identity(1), generation: 0 })).status, 400);
    assert.deepEqual(await (await fetch(`${fx.url}/envs`)).json(), { POOLED: 'yes', SHARED: 'old' });
  });

  it('becomes the named sandbox: /envs, processes started after, the access token', async () => {
    const before = await printenv(fx, {});
    assert.match(before.text, /^POOLED=yes$/m);
    const res = await post(identity(1));
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { generation: 1, sandboxId: 'sbx-claimed', applied: true });

    assert.equal((await fetch(`${fx.url}/envs`)).status, 401, 'the new token is enforced');
    const envs = await fetch(`${fx.url}/envs`, { headers: { 'x-access-token': 'claimed-token' } });
    assert.deepEqual(await envs.json(), { CLAIMED: 'yes', SHARED: 'new' });
    assert.equal((await printenv(fx, {})).status, 401);
    const after = await printenv(fx, { 'x-access-token': 'claimed-token' });
    assert.match(after.text, /^CLAIMED=yes$/m);
    assert.match(after.text, /^SHARED=new$/m);
    assert.doesNotMatch(after.text, /POOLED=/, 'variables of the old identity are gone');
  });

  it('is idempotent for a retry and ordered by generation', async () => {
    const retry = await post(identity(1));
    assert.equal(retry.status, 200);
    assert.deepEqual(await retry.json(), { generation: 1, sandboxId: 'sbx-claimed', applied: false });
    assert.equal((await post(identity(1, { sandboxId: 'sbx-other' }))).status, 409, 'same generation, another identity');
    const next = await post(identity(2, { accessToken: null, envVars: { SECOND: '2' } }));
    assert.equal(next.status, 200);
    assert.equal((await post(identity(1))).status, 409, 'an older generation never wins');
    assert.deepEqual(await (await fetch(`${fx.url}/envs`)).json(), { SECOND: '2' });
  });

  it('applies concurrent adopts one at a time, in order', async () => {
    const results = await Promise.all([3, 4, 5].map((g) => post(identity(g, { accessToken: null, envVars: { GEN: String(g) } }))));
    assert.deepEqual(results.map((r) => r.status), [200, 200, 200]);
    assert.deepEqual(await (await fetch(`${fx.url}/envs`)).json(), { GEN: '5' });
  });
});

describe('POST /adopt without a daemon secret', () => {
  it('answers 404: the route is off', async () => {
    const fx = await startAgent();
    try {
      const res = await fetch(`${fx.url}${Adopt.path}`, { method: 'POST', headers: { authorization: 'Bearer x' }, body: '{}' });
      assert.equal(res.status, 404);
    } finally {
      await fx.stop();
    }
  });
});
