import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { CodeSandbox} from './code-helpers.js';
import { assertNoError, createCodeSandbox, describeExecution, runCode } from './code-helpers.js';
import { RUN_ID, e2eTest } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, { metadata: { suite: 'code-memory', run: RUN_ID }, timeoutMs: 600_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] code-memory sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

describe('running out of memory', () => {
  test('a cell that exhausts the sandbox memory gets an OutOfMemory error, and the sandbox and context live on', 240_000, async () => {
    assertNoError(await runCode(sbx, 'kept = 1'));
    const started = Date.now();
    const execution = await runCode(sbx, 'chunks = []\nwhile True:\n    chunks.append(bytearray(64 * 1024 * 1024))', {}, 120_000);
    assert.equal(execution.error?.name, 'OutOfMemory', describeExecution(execution));
    assert.match(execution.error?.value ?? '', /ran out of memory .*MiB.*state was lost/);
    assert.ok(Date.now() - started < 60_000, 'the kill comes promptly, not after thrashing');
    assert.equal(await sbx.isRunning(), true);
    const after = assertNoError(await runCode(sbx, '"kept" in globals()'));
    assert.equal(after.text, 'False', 'the context came back with a fresh kernel');
    assert.equal(assertNoError(await runCode(sbx, '6 * 7')).text, '42');
  });

  test('a command that exhausts the sandbox memory is killed and the sandbox keeps working', 240_000, async () => {
    const result = await sbx.commands
      .run('python3 -c "b = []\nwhile True: b.append(bytearray(64 * 1024 * 1024))"', { timeoutMs: 120_000 })
      .catch((error: unknown) => error as { exitCode?: number; error?: string });
    assert.notEqual(result.exitCode, 0, 'the memory hog does not exit cleanly');
    assert.equal((await sbx.commands.run('echo alive')).stdout, 'alive\n');
  });
});
