import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Sandbox, SandboxNotFoundError } from 'e2b';
import { startStack } from './testing/harness.js';
import type { RunningStack } from './testing/harness.js';
import { TEST_API_KEY } from './testing/harness.js';

describe('official e2b SDK against the daemon', () => {
  let stack: RunningStack;
  let opts: { apiKey: string; apiUrl: string; sandboxUrl: string };
  before(async () => {
    stack = await startStack();
    opts = { apiKey: TEST_API_KEY, apiUrl: stack.url, sandboxUrl: stack.url };
  });
  after(async () => {
    await stack.close();
  });

  it('create, isRunning, getInfo, list, setTimeout, connect, metrics, kill', async () => {
    const metadata = { suite: 'sdk', 'odd key': 'a&b=c d%' };
    const sbx = await Sandbox.create('base', { ...opts, metadata, timeoutMs: 60_000 });
    assert.match(sbx.sandboxId, /^i[a-z0-9]{20}$/);
    assert.equal(sbx.sandboxDomain, 'sandboxd.local');
    assert.equal(await sbx.isRunning(), true);

    const info = await sbx.getInfo();
    assert.equal(info.sandboxId, sbx.sandboxId);
    assert.equal(info.name, 'base');
    assert.deepEqual(info.metadata, metadata);
    assert.equal(info.state, 'running');
    const span = info.endAt.getTime() - info.startedAt.getTime();
    assert.ok(span > 58_000 && span <= 61_000, String(span));

    const other = await Sandbox.create('base', { ...opts, metadata: { suite: 'other' } });
    const listed = await Sandbox.list({ ...opts, query: { metadata, state: ['running'] } }).nextItems();
    assert.deepEqual(listed.map((s) => s.sandboxId), [sbx.sandboxId]);
    const paginator = Sandbox.list({ ...opts, limit: 1 });
    const firstPage = await paginator.nextItems();
    assert.equal(firstPage.length, 1);
    assert.equal(paginator.hasNext, true);
    const secondPage = await paginator.nextItems();
    assert.equal(paginator.hasNext, false);
    assert.deepEqual([...firstPage, ...secondPage].map((s) => s.sandboxId).sort(), [sbx.sandboxId, other.sandboxId].sort());

    await sbx.setTimeout(600_000);
    const extended = await sbx.getInfo();
    assert.ok(extended.endAt.getTime() > Date.now() + 590_000);

    const connected = await Sandbox.connect(sbx.sandboxId, opts);
    assert.equal(await connected.isRunning(), true);

    const metrics = await sbx.getMetrics();
    assert.equal(metrics.length, 1);
    assert.equal(metrics[0]!.cpuCount, 2);

    await sbx.kill();
    assert.equal(await sbx.isRunning(), false);
    assert.equal(await Sandbox.kill(sbx.sandboxId, opts), false);
    await assert.rejects(sbx.getInfo(), SandboxNotFoundError);
    const remaining = await Sandbox.list({ ...opts, query: { metadata, state: ['running'] } }).nextItems();
    assert.deepEqual(remaining, []);
    assert.equal(await Sandbox.kill(other.sandboxId, opts), true);
  });

  it('reports a wrong API key and an unknown template as SDK errors', async () => {
    await assert.rejects(Sandbox.create('base', { ...opts, apiKey: `e2b_${'0'.repeat(40)}` }), (e: Error) => e.name === 'AuthenticationError');
    await assert.rejects(Sandbox.create('no-such-template', opts), /no-such-template" not found; known templates: base/);
  });

  it('sees a sandbox as not running after it expires', async () => {
    const sbx = await Sandbox.create('base', { ...opts, timeoutMs: 1000 });
    assert.equal(await sbx.isRunning(), true);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await sbx.isRunning(), false);
  });
});
