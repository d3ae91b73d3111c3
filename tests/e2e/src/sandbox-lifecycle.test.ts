import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, SandboxNotFoundError, type SandboxInfo } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, rejection, run, sleep, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

/** Every sandbox listed with `metadata` (all pages, running and paused). */
async function listAll(metadata: Record<string, string>, state?: Array<'running' | 'paused'>): Promise<SandboxInfo[]> {
  const paginator = Sandbox.list({ ...stack.sdk, query: { metadata, ...(state ? { state } : {}) } });
  const all: SandboxInfo[] = [];
  while (paginator.hasNext) all.push(...(await withTimeout(paginator.nextItems(), CALL_MS, 'Sandbox.list page')));
  return all;
}

describe('create and inspect', () => {
  test('create passes envVars to commands and metadata to getInfo; getInfo reports the sandbox', 180_000, async () => {
    const metadata = { suite: 'lifecycle', run: RUN_ID, purpose: 'info' };
    const started = Date.now();
    await withSandbox(
      () => createSandbox(stack, { metadata, envs: { X: 'hello-from-create', OTHER: 'two words' }, timeoutMs: 120_000 }),
      async (sbx) => {
        assert.match(sbx.sandboxId, /^[a-z0-9]+$/);
        const echoed = await run(sbx, 'echo "$X|$OTHER"');
        assert.equal(echoed.stdout, 'hello-from-create|two words\n');
        assert.equal(echoed.exitCode, 0);

        const info = await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo');
        assert.equal(info.sandboxId, sbx.sandboxId);
        assert.deepEqual(info.metadata, metadata);
        assert.equal(info.state, 'running');
        assert.ok([info.templateId, info.name].includes('base'), `template of ${JSON.stringify(info)}`);
        assert.ok(info.cpuCount >= 1, `cpuCount ${info.cpuCount}`);
        assert.ok(info.memoryMB >= 128, `memoryMB ${info.memoryMB}`);
        assert.match(info.envdVersion, /^\d+\.\d+\.\d+/);
        assert.ok(info.startedAt instanceof Date && !Number.isNaN(info.startedAt.getTime()));
        assert.ok(Math.abs(info.startedAt.getTime() - started) < 120_000, `startedAt ${info.startedAt.toISOString()}`);
        const lifetime = info.endAt.getTime() - info.startedAt.getTime();
        assert.ok(lifetime > 100_000 && lifetime <= 125_000, `endAt - startedAt = ${lifetime} ms for a 120 s timeout`);

        const staticInfo = await withTimeout(Sandbox.getInfo(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'Sandbox.getInfo');
        assert.equal(staticInfo.sandboxId, sbx.sandboxId);
        assert.deepEqual(staticInfo.metadata, metadata);

        assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), true);
      },
    );
  });

  test('Sandbox.connect to a running sandbox sees the same filesystem and processes', 180_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'lifecycle', run: RUN_ID } }),
      async (sbx) => {
        await withTimeout(sbx.files.write('/home/user/shared.txt', 'written by the first handle'), CALL_MS, 'write');
        const again = await withTimeout(Sandbox.connect(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'Sandbox.connect');
        assert.equal(again.sandboxId, sbx.sandboxId);
        assert.equal(await withTimeout(again.files.read('/home/user/shared.txt'), CALL_MS, 'read'), 'written by the first handle');
        const bg = await withTimeout(again.commands.run('sleep 120', { background: true }), CALL_MS, 'background sleep');
        const seen = await withTimeout(sbx.commands.list(), CALL_MS, 'list');
        assert.ok(seen.some((p) => p.pid === bg.pid), `pid ${bg.pid} not in ${JSON.stringify(seen)}`);
        await withTimeout(again.commands.run('echo from-second > /home/user/back.txt'), CALL_MS, 'write back');
        assert.equal((await run(sbx, 'cat /home/user/back.txt')).stdout, 'from-second\n');
      },
    );
  });
});

describe('list', () => {
  test('Sandbox.list filters by metadata and by state', 240_000, async () => {
    const group = `list-${RUN_ID}`;
    await withSandbox(
      () => createSandbox(stack, { metadata: { group, idx: '1' } }),
      (one) =>
        withSandbox(
          () => createSandbox(stack, { metadata: { group, idx: '2' } }),
          async (two) => {
            const both = await listAll({ group });
            assert.deepEqual(both.map((s) => s.sandboxId).sort(), [one.sandboxId, two.sandboxId].sort());
            const onlyTwo = await listAll({ group, idx: '2' });
            assert.deepEqual(onlyTwo.map((s) => s.sandboxId), [two.sandboxId]);
            assert.deepEqual(onlyTwo[0]?.metadata, { group, idx: '2' });
            assert.equal(onlyTwo[0]?.state, 'running');
            assert.deepEqual(await listAll({ group, idx: '3' }), []);

            const running = await listAll({ group }, ['running']);
            assert.equal(running.length, 2);
            assert.deepEqual(await listAll({ group }, ['paused']), []);

            assert.equal(await withTimeout(one.kill(), CALL_MS, 'kill'), true);
            const afterKill = await listAll({ group }, ['running', 'paused']);
            assert.deepEqual(afterKill.map((s) => s.sandboxId), [two.sandboxId]);
          },
        ),
    );
  });

  test('Sandbox.list pages with limit and nextItems until hasNext is false', 300_000, async () => {
    const group = `page-${RUN_ID}`;
    const created: Sandbox[] = [];
    try {
      for (let i = 0; i < 3; i += 1) created.push(await createSandbox(stack, { metadata: { group, i: String(i) } }));
      const paginator = Sandbox.list({ ...stack.sdk, query: { metadata: { group } }, limit: 2 });
      assert.equal(paginator.hasNext, true);
      const first = await withTimeout(paginator.nextItems(), CALL_MS, 'page 1');
      assert.equal(first.length, 2);
      assert.equal(paginator.hasNext, true, 'a third sandbox remains, so there must be a next page');
      assert.ok(paginator.nextToken, 'nextToken after a full page');
      const second = await withTimeout(paginator.nextItems(), CALL_MS, 'page 2');
      assert.equal(second.length, 1);
      assert.equal(paginator.hasNext, false);
      const ids = [...first, ...second].map((s) => s.sandboxId);
      assert.equal(new Set(ids).size, 3, `pages overlap: ${ids.join(',')}`);
      assert.deepEqual([...ids].sort(), created.map((s) => s.sandboxId).sort());
      await assert.rejects(async () => paginator.nextItems(), 'nextItems after the last page must throw');
    } finally {
      await Promise.all(created.map((s) => withTimeout(s.kill(), CALL_MS, 'kill').catch(() => false)));
    }
  });
});

describe('timeout and expiry', () => {
  test('a sandbox created with timeoutMs 5000 is gone after ~7 s: not running, not connectable, not listed', 120_000, async () => {
    const group = `expiry-${RUN_ID}`;
    await withSandbox(
      () => createSandbox(stack, { metadata: { group }, timeoutMs: 5_000 }),
      async (sbx) => {
        const created = Date.now();
        assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), true);
        assert.equal((await listAll({ group })).length, 1);
        await sleep(Math.max(0, created + 7_500 - Date.now()));
        assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning after expiry'), false);
        const err = await rejection(Sandbox.connect(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'connect to an expired sandbox');
        assert.ok(err instanceof SandboxNotFoundError, `expected SandboxNotFoundError, got ${String(err)}`);
        assert.deepEqual(await listAll({ group }), []);
        await rejection(sbx.commands.run('echo still here'), CALL_MS, 'command on an expired sandbox');
      },
    );
  });

  test('setTimeout extends the lifetime of a sandbox beyond its original timeout', 120_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { timeoutMs: 5_000 }),
      async (sbx) => {
        await withTimeout(sbx.setTimeout(60_000), CALL_MS, 'setTimeout');
        const extendedAt = Date.now();
        const info = await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo');
        const remaining = info.endAt.getTime() - extendedAt;
        assert.ok(remaining > 50_000 && remaining < 65_000, `endAt is ${remaining} ms away after setTimeout(60 s)`);
        await sleep(9_000);
        assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), true);
        assert.equal((await run(sbx, 'echo alive')).stdout, 'alive\n');
      },
    );
  });

  test('setTimeout can shorten the lifetime of a sandbox', 120_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { timeoutMs: 300_000 }),
      async (sbx) => {
        await withTimeout(Sandbox.setTimeout(sbx.sandboxId, 3_000, { ...stack.sdk }), CALL_MS, 'Sandbox.setTimeout');
        await waitFor(async () => !(await sbx.isRunning()), 15_000, 'sandbox expires after being shortened to 3 s');
      },
    );
  });
});

describe('kill', () => {
  test('kill returns true, then isRunning is false, commands reject and a second kill returns false', 120_000, async () => {
    const sbx = await createSandbox(stack, { metadata: { suite: 'kill', run: RUN_ID } });
    try {
      assert.equal((await run(sbx, 'echo up')).stdout, 'up\n');
      assert.equal(await withTimeout(sbx.kill(), CALL_MS, 'kill'), true);
      assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), false);
      await rejection(sbx.commands.run('echo ghost'), CALL_MS, 'command on a killed sandbox');
      await rejection(sbx.files.read('/etc/hostname'), CALL_MS, 'file read on a killed sandbox');
      assert.equal(await withTimeout(Sandbox.kill(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'second kill'), false);
      const err = await rejection(Sandbox.getInfo(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'getInfo of a killed sandbox');
      assert.ok(err instanceof SandboxNotFoundError, `expected SandboxNotFoundError, got ${String(err)}`);
    } finally {
      await sbx.kill().catch(() => false);
    }
  });

  test('Sandbox.kill of an unknown id returns false', 30_000, async () => {
    assert.equal(await withTimeout(Sandbox.kill('doesnotexist0000000000', { ...stack.sdk }), CALL_MS, 'kill unknown'), false);
  });

  test('getMetrics reports the sandbox limits and its real CPU, memory and disk use', 120_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'lifecycle', run: RUN_ID, purpose: 'metrics' }, timeoutMs: 120_000 }),
      async (sbx) => {
        await run(sbx, 'head -c 50000000 /dev/urandom > /home/user/blob');
        const metrics = await withTimeout(sbx.getMetrics(), CALL_MS, 'getMetrics');
        assert.ok(metrics.length >= 1, 'at least one sample');
        const m = metrics[metrics.length - 1]!;
        assert.ok(m.cpuCount >= 1, `cpuCount ${m.cpuCount}`);
        assert.ok(m.cpuUsedPct >= 0 && m.cpuUsedPct <= 100, `cpuUsedPct ${m.cpuUsedPct}`);
        assert.ok(m.memTotal > 0 && m.memUsed > 0 && m.memUsed <= m.memTotal, `memory ${m.memUsed}/${m.memTotal}`);
        assert.ok(m.diskTotal > 0, `diskTotal ${m.diskTotal}`);
        assert.ok(m.diskUsed >= 50_000_000, `the 50 MB file counts as disk use: ${m.diskUsed}`);
      },
    );
  });
});
