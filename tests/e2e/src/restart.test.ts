import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, type SandboxInfo } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, rawFetch, run, sleep, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);
const group = `restart-${RUN_ID}`;

/** Lives through the crash. */
let survivor: Sandbox;
let survivorEndAt: Date;
let backgroundPid: number;
/** Its timeout passes while the daemon is down. */
let expiresWhileDown: Sandbox;
/** Its timeout passes after the daemon is back. */
let expiresAfterRestart: Sandbox;
let expiresAfterRestartAt = 0;

async function listed(): Promise<string[]> {
  const paginator = Sandbox.list({ ...stack.sdk, query: { metadata: { group } } });
  const all: SandboxInfo[] = [];
  while (paginator.hasNext) all.push(...(await withTimeout(paginator.nextItems(), CALL_MS, 'list page')));
  return all.map((s) => s.sandboxId);
}

before(async () => {
  stack = await startStack();
  survivor = await createSandbox(stack, { metadata: { group, role: 'survivor' }, timeoutMs: 900_000, envs: { SURVIVOR: 'yes' } });
  await withTimeout(survivor.files.write('/home/user/before-crash.txt', 'written before the crash'), CALL_MS, 'write');
  backgroundPid = (await withTimeout(survivor.commands.run('sleep 900', { background: true }), CALL_MS, 'background')).pid;
  survivorEndAt = (await withTimeout(survivor.getInfo(), CALL_MS, 'getInfo')).endAt;

  expiresAfterRestart = await createSandbox(stack, { metadata: { group, role: 'after' }, timeoutMs: 45_000 });
  expiresAfterRestartAt = Date.now() + 45_000;
  expiresWhileDown = await createSandbox(stack, { metadata: { group, role: 'down' }, timeoutMs: 8_000 });
  const downDeadline = Date.now() + 8_000;

  await stack.crash();
  const probe = await rawFetch(`${stack.apiUrl}/v2/sandboxes`, { headers: { 'X-API-KEY': stack.apiKey } }, 5_000).then(
    (r) => `answered ${r.status}`,
    () => 'down',
  );
  assert.equal(probe, 'down', 'the daemon must be gone after SIGKILL');
  await sleep(Math.max(0, downDeadline + 3_000 - Date.now()));
  await stack.restart();
  console.error(
    `[e2e] restart sandboxes: survivor=${survivor.sandboxId} after=${expiresAfterRestart.sandboxId} down=${expiresWhileDown.sandboxId}`,
  );
});
after(async () => {
  await stack?.stop();
});

describe('daemon SIGKILL and restart with sandboxes alive', () => {
  test('a sandbox created before the crash runs commands after the restart', 90_000, async () => {
    const result = await run(survivor, 'echo "alive $SURVIVOR"');
    assert.equal(result.stdout, 'alive yes\n');
    assert.equal(await withTimeout(survivor.isRunning(), CALL_MS, 'isRunning'), true);
  });

  test('files written before the crash are kept', 60_000, async () => {
    assert.equal(await withTimeout(survivor.files.read('/home/user/before-crash.txt'), CALL_MS, 'read'), 'written before the crash');
    await withTimeout(survivor.files.write('/home/user/after-restart.txt', 'new'), CALL_MS, 'write after restart');
    assert.equal((await run(survivor, 'cat /home/user/before-crash.txt /home/user/after-restart.txt')).stdout, 'written before the crashnew');
  });

  test('a background process started before the crash is still running', 60_000, async () => {
    const processes = await withTimeout(survivor.commands.list(), CALL_MS, 'commands.list');
    assert.ok(processes.some((p) => p.pid === backgroundPid), `pid ${backgroundPid} not in ${JSON.stringify(processes.map((p) => p.pid))}`);
    assert.equal(await withTimeout(survivor.commands.kill(backgroundPid), CALL_MS, 'kill'), true);
  });

  test('the surviving sandbox is listed, connectable and keeps its metadata and end time', 60_000, async () => {
    const ids = await listed();
    assert.ok(ids.includes(survivor.sandboxId), `survivor not listed: ${ids.join(',')}`);
    const info = await withTimeout(Sandbox.getInfo(survivor.sandboxId, { ...stack.sdk }), CALL_MS, 'getInfo');
    assert.deepEqual(info.metadata, { group, role: 'survivor' });
    assert.equal(info.state, 'running');
    assert.ok(Math.abs(info.endAt.getTime() - survivorEndAt.getTime()) < 2_000, `endAt ${info.endAt.toISOString()} was ${survivorEndAt.toISOString()}`);
    const again = await withTimeout(Sandbox.connect(survivor.sandboxId, { ...stack.sdk }), CALL_MS, 'connect');
    assert.equal((await run(again, 'cat /home/user/before-crash.txt')).stdout, 'written before the crash');
  });

  test('a sandbox whose timeout passed while the daemon was down is gone after the restart', 60_000, async () => {
    await waitFor(async () => !(await expiresWhileDown.isRunning()), 15_000, 'sandbox expired during downtime is stopped');
    const ids = await waitFor(async () => {
      const now = await listed();
      return now.includes(expiresWhileDown.sandboxId) ? undefined : now;
    }, 15_000, 'sandbox expired during downtime is not listed');
    assert.ok(!ids.includes(expiresWhileDown.sandboxId));
  });

  test('expiry still applies after the restart: a sandbox is gone once its timeout passes', 120_000, async () => {
    const remaining = expiresAfterRestartAt - Date.now();
    assert.ok(remaining > 0, `the test setup took too long: the sandbox's timeout passed ${-remaining} ms before this check`);
    assert.equal(await withTimeout(expiresAfterRestart.isRunning(), CALL_MS, 'isRunning before expiry'), true);
    await sleep(remaining + 3_000);
    assert.equal(await withTimeout(expiresAfterRestart.isRunning(), CALL_MS, 'isRunning after expiry'), false);
    assert.ok(!(await listed()).includes(expiresAfterRestart.sandboxId), 'expired sandbox still listed');
    assert.ok((await listed()).includes(survivor.sandboxId), 'the survivor must still be listed');
  });

  test('new sandboxes can be created and used after the restart', 240_000, async () => {
    const fresh = await createSandbox(stack, { metadata: { group, role: 'fresh' } });
    try {
      assert.equal((await run(fresh, 'echo fresh')).stdout, 'fresh\n');
    } finally {
      await withTimeout(fresh.kill(), CALL_MS, 'kill fresh').catch(() => false);
    }
  });
});
