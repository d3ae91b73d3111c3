import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, TimeoutError, type Execution } from '@e2b/code-interpreter';
import type { CodeSandbox} from './code-helpers.js';
import { assertNoError, createCodeSandbox, describeExecution, runCode } from './code-helpers.js';
import { CALL_MS, RUN_ID, e2eTest, rejection, sleep, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, { metadata: { suite: 'code-interrupts', run: RUN_ID }, timeoutMs: 900_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] code-interrupts sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

const createContext = () => withTimeout(sbx.createCodeContext({ language: 'python' }), CALL_MS * 2, 'createCodeContext');

describe('interrupts and failures', () => {
  test('after a client timeout the kernel is interrupted: 1 + 1 answers 2 within 5 s and earlier state is kept', 120_000, async () => {
    assertNoError(await runCode(sbx, 'x_before = 7'));
    const startedAt = Date.now();
    const err = await rejection(sbx.runCode('import time; time.sleep(300)', { timeoutMs: 3_000 }), 30_000, 'runCode past its timeoutMs');
    assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${String(err)}`);
    assert.ok(Date.now() - startedAt < 15_000, `rejected only after ${Date.now() - startedAt} ms`);
    const next = await withTimeout(sbx.runCode('1 + 1'), 5_000, 'runCode right after the timed-out one');
    assert.equal(assertNoError(next).text, '2');
    assert.equal(assertNoError(await runCode(sbx, 'x_before')).text, '7');
  });

  test('a busy loop is interrupted after a client timeout too', 120_000, async () => {
    const ctx = await createContext();
    assertNoError(await runCode(sbx, 'counter = 0', { context: ctx }));
    await rejection(sbx.runCode('while True:\n    counter += 1', { context: ctx, timeoutMs: 3_000 }), 30_000, 'busy loop past its timeoutMs');
    const next = await withTimeout(sbx.runCode('counter > 0', { context: ctx }), 10_000, 'runCode after the busy loop');
    assert.equal(assertNoError(next).text, 'True');
  });

  test('a silent execution longer than requestTimeoutMs succeeds (headers come before output)', 90_000, async () => {
    const execution = await runCode(sbx, 'import time\ntime.sleep(8)\n"woke"', { requestTimeoutMs: 5_000, timeoutMs: 30_000 });
    assert.equal(assertNoError(execution).text, 'woke');
  });

  test('kernel death (os._exit) is reported as an error and the context works again', 180_000, async () => {
    const ctx = await createContext();
    assertNoError(await runCode(sbx, 'before_death = 1', { context: ctx }));
    const outcome = await withTimeout(
      sbx.runCode('import os; os._exit(1)', { context: ctx }).then(
        (execution: Execution) => ({ execution }),
        (error: unknown) => ({ error }),
      ),
      90_000,
      'runCode that kills the kernel',
    );
    if ('execution' in outcome) assert.ok(outcome.execution.error, `a dead kernel must not look like success: ${describeExecution(outcome.execution)}`);
    const recovered = await waitFor(
      async () => {
        const execution = await withTimeout(sbx.runCode('1 + 1', { context: ctx }), 30_000, 'runCode after kernel death');
        return execution.text === '2' ? execution : undefined;
      },
      90_000,
      'the context answers again after the kernel died',
      1_000,
    );
    assert.equal(recovered.text, '2');
  });

  test('killing the sandbox during an execution makes runCode reject instead of returning a result', 240_000, async () => {
    await withSandbox(
      () => createCodeSandbox(stack, { metadata: { suite: 'code-interrupts', run: RUN_ID, role: 'victim' } }),
      async (victim) => {
        assertNoError(await runCode(victim, 'warm = 1'));
        const pending = victim.runCode('import time\nprint("started", flush=True)\ntime.sleep(120)\n"should never be seen"', { timeoutMs: 180_000 });
        pending.catch(() => undefined);
        await sleep(3_000);
        assert.equal(await withTimeout(Sandbox.kill(victim.sandboxId, { ...stack.sdk }), CALL_MS, 'kill'), true);
        const killedAt = Date.now();
        await rejection(pending, 60_000, 'runCode of a killed sandbox');
        assert.ok(Date.now() - killedAt < 30_000, `rejected ${Date.now() - killedAt} ms after the kill`);
      },
    );
  });

  test('5 concurrent executions in 5 contexts run in parallel without mixing their output', 240_000, async () => {
    const contexts = [];
    for (let k = 0; k < 5; k += 1) contexts.push(await createContext());
    const code = (k: number): string => `import time\nfor i in range(10):\n    print(f"ctx${k}-{i}", flush=True)\n    time.sleep(0.2)\n"done-${k}"`;
    const streamed: string[][] = contexts.map(() => []);
    const startedAt = Date.now();
    const executions = await Promise.all(
      contexts.map((context, k) => runCode(sbx, code(k), { context, onStdout: (m) => void streamed[k]!.push(m.line) }, 90_000)),
    );
    const elapsed = Date.now() - startedAt;
    executions.forEach((execution, k) => {
      assertNoError(execution);
      const expected = Array.from({ length: 10 }, (_, i) => `ctx${k}-${i}\n`).join('');
      assert.equal(execution.logs.stdout.join(''), expected, `context ${k} stdout`);
      assert.equal(streamed[k]!.join(''), expected, `context ${k} streamed stdout`);
      assert.equal(execution.text, `done-${k}`);
    });
    assert.ok(elapsed < 9_000, `5 executions of 2 s each took ${elapsed} ms: contexts do not run in parallel`);
  });
});
