import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox } from 'e2b';
import { CodeSandbox, assertNoError, createCodeSandbox, runCode, warmKernel } from './code-helpers.js';
import { CALL_MS, CREATE_MS, e2eTest, run } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);
/** The SDK's own bound of one request (its default, 60 s, is less than a loaded machine needs). */
const slow = { requestTimeoutMs: 170_000 };

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

describe('snapshots', () => {
  let parent: CodeSandbox;
  let snapshotId = '';
  const children: CodeSandbox[] = [];

  before(async () => {
    parent = await createCodeSandbox(stack, { ...slow, timeoutMs: 900_000 });
    await warmKernel(parent);
    assertNoError(await runCode(parent, 'state = {"x": 41}\nblob = bytes(10 * 1024 * 1024)', { timeoutMs: CALL_MS * 3 }, CALL_MS * 3));
    await withTimeout(parent.files.write('/home/user/parent.txt', 'from the parent'), CALL_MS, 'write parent file');
  });
  after(async () => {
    await Promise.all([parent, ...children].map((s) => s?.kill().catch(() => false)));
  });

  test('a snapshot of a running sandbox: it is listed and the parent keeps running with its state', 300_000, async () => {
    const started = performance.now();
    const snapshot = await withTimeout(parent.createSnapshot({ ...slow }), CREATE_MS, 'createSnapshot');
    console.log(`[e2e] snapshot: ${Math.round(performance.now() - started)} ms (client)`);
    snapshotId = snapshot.snapshotId;
    assert.match(snapshotId, /:default$/);
    assert.deepEqual(snapshot.names, [snapshotId]);
    const listed = await withTimeout(Sandbox.listSnapshots({ ...stack.sdk, sandboxId: parent.sandboxId }).nextItems(), CALL_MS, 'listSnapshots');
    assert.deepEqual(
      listed.map((s) => s.snapshotId),
      [snapshotId],
    );
    assert.equal(assertNoError(await runCode(parent, 'state["x"] += 1\nstate["x"]')).text, '42');
  });

  test('two sandboxes from one snapshot, created at once: each has the Python state and the file, and is independent', 600_000, async () => {
    assert.ok(snapshotId, 'the snapshot test ran first');
    const started = performance.now();
    children.push(
      ...(await Promise.all(
        [0, 1].map(() =>
          withTimeout(
            CodeSandbox.create(snapshotId, { ...stack.sdk, ...slow, timeoutMs: 600_000, envs: { CHILD_ENV: 'yes' } }),
            CREATE_MS,
            'create from snapshot',
          ),
        ),
      )),
    );
    console.log(`[e2e] 2 creates from a snapshot, concurrently: ${Math.round(performance.now() - started)} ms (client)`);
    const [a, b] = children as [CodeSandbox, CodeSandbox];
    assert.notEqual(a.sandboxId, b.sandboxId);
    assert.notEqual(a.sandboxId, parent.sandboxId);
    for (const child of [a, b]) {
      // The snapshot was taken at x = 41: the parent's later change is not there.
      assert.equal(assertNoError(await runCode(child, 'state["x"]', { timeoutMs: CALL_MS * 2 }, CALL_MS * 2)).text, '41');
      assert.equal(assertNoError(await runCode(child, 'len(blob)')).text, String(10 * 1024 * 1024));
      assert.equal(await withTimeout(child.files.read('/home/user/parent.txt'), CALL_MS, 'read parent file'), 'from the parent');
      assert.equal((await run(child, 'echo $CHILD_ENV')).stdout.trim(), 'yes');
    }
    await withTimeout(a.files.write('/home/user/only-a.txt', 'a'), CALL_MS, 'write in a');
    assertNoError(await runCode(a, 'state["x"] = 100'));
    assert.equal(await withTimeout(b.files.exists('/home/user/only-a.txt'), CALL_MS, 'exists in b'), false);
    assert.equal(await withTimeout(parent.files.exists('/home/user/only-a.txt'), CALL_MS, 'exists in parent'), false);
    assert.equal(assertNoError(await runCode(b, 'state["x"]')).text, '41');
    assert.equal(assertNoError(await runCode(parent, 'state["x"]')).text, '42');
  });

  test('a sandbox started from a snapshot pauses and resumes with its state, and is killed', 300_000, async () => {
    const [a, b] = children as [CodeSandbox, CodeSandbox];
    assert.ok(a && b, 'the children exist');
    assert.equal(await withTimeout(a.pause({ ...slow }), CALL_MS * 2, 'pause'), true);
    await withTimeout(a.connect({ ...slow }), CALL_MS * 2, 'connect');
    assert.equal(assertNoError(await runCode(a, 'state["x"]', { timeoutMs: CALL_MS * 2 }, CALL_MS * 2)).text, '100');
    assert.equal(await withTimeout(b.kill(), CALL_MS, 'kill'), true);
    assert.equal(
      (await Sandbox.list({ ...stack.sdk }).nextItems()).some((s) => s.sandboxId === b.sandboxId),
      false,
    );
  });

  test('deleting the snapshot: the route answers true once, then false; a create from it is refused', 120_000, async () => {
    assert.equal(await withTimeout(Sandbox.deleteSnapshot(snapshotId, { ...stack.sdk }), CALL_MS, 'deleteSnapshot'), true);
    assert.equal(await withTimeout(Sandbox.deleteSnapshot(snapshotId, { ...stack.sdk }), CALL_MS, 'deleteSnapshot again'), false);
    await assert.rejects(withTimeout(Sandbox.create(snapshotId, { ...stack.sdk }), CALL_MS, 'create from deleted'), /not found/i);
    // The sandbox started from it runs on.
    assert.equal(assertNoError(await runCode(children[0] as CodeSandbox, '1 + 1')).text, '2');
  });
});
