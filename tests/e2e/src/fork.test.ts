import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, SandboxNotFoundError } from 'e2b';
import { CodeSandbox, assertNoError, createCodeSandbox, runCode, warmKernel } from './code-helpers.js';
import { CALL_MS, CREATE_MS, e2eTest } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);
const slow = { requestTimeoutMs: 400_000 };

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

describe('fork', () => {
  let parent: CodeSandbox;
  const forks: CodeSandbox[] = [];

  before(async () => {
    parent = await createCodeSandbox(stack, { requestTimeoutMs: 170_000, timeoutMs: 900_000 });
    await warmKernel(parent);
    assertNoError(await runCode(parent, 'counter = 7', { timeoutMs: CALL_MS * 3 }, CALL_MS * 3));
    await withTimeout(parent.files.write('/home/user/fork.txt', 'parent disk'), CALL_MS, 'write');
  });
  after(async () => {
    await Promise.all([parent, ...forks].map((s) => s?.kill().catch(() => false)));
  });

  test('fork with count 2: two running sandboxes with the parent memory and disk; the parent keeps running', 600_000, async () => {
    const started = performance.now();
    const results = await withTimeout(parent.fork({ count: 2, timeoutMs: 600_000, ...slow }), CREATE_MS * 2, 'fork');
    console.log(`[e2e] fork of 2: ${Math.round(performance.now() - started)} ms (client)`);
    assert.equal(results.length, 2);
    for (const r of results) {
      if (r instanceof Error) throw r;
      forks.push(r);
    }
    assert.notEqual(forks[0]?.sandboxId, forks[1]?.sandboxId);
    for (const child of forks) {
      assert.ok(child instanceof CodeSandbox);
      assert.equal(assertNoError(await runCode(child, 'counter', { timeoutMs: CALL_MS * 2 }, CALL_MS * 2)).text, '7');
      assert.equal(await withTimeout(child.files.read('/home/user/fork.txt'), CALL_MS, 'read'), 'parent disk');
    }
    assertNoError(await runCode(forks[0] as CodeSandbox, 'counter = 8'));
    assert.equal(assertNoError(await runCode(forks[1] as CodeSandbox, 'counter')).text, '7');
    assert.equal(assertNoError(await runCode(parent, 'counter')).text, '7');
    assert.equal(await withTimeout(parent.isRunning(), CALL_MS, 'isRunning'), true);
  });

  test('fork of an unknown sandbox and of a killed one: SandboxNotFoundError (404)', 120_000, async () => {
    await assert.rejects(withTimeout(Sandbox.fork('nosuchsandbox000000000', { ...stack.sdk }), CALL_MS, 'fork unknown'), SandboxNotFoundError);
    const killed = forks.pop() as CodeSandbox;
    assert.equal(await withTimeout(killed.kill(), CALL_MS, 'kill'), true);
    await assert.rejects(withTimeout(Sandbox.fork(killed.sandboxId, { ...stack.sdk }), CALL_MS, 'fork killed'), SandboxNotFoundError);
  });
});
