import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { CodeSandbox} from './code-helpers.js';
import { assertNoError, createCodeSandbox, describeExecution, runCode } from './code-helpers.js';
import { CALL_MS, RUN_ID, e2eTest, rejection } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, { metadata: { suite: 'code-contexts', run: RUN_ID }, timeoutMs: 900_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] code-contexts sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

const createContext = (opts: Parameters<CodeSandbox['createCodeContext']>[0]) =>
  withTimeout(sbx.createCodeContext(opts), CALL_MS * 2, `createCodeContext ${JSON.stringify(opts)}`);
const listContexts = () => withTimeout(sbx.listCodeContexts(), CALL_MS, 'listCodeContexts');

describe('code contexts', () => {
  test('the default context runs in /home/user and is the one used for language "python"', 120_000, async () => {
    assert.equal(assertNoError(await runCode(sbx, 'import os\nos.getcwd()')).text, '/home/user');
    assertNoError(await runCode(sbx, 'in_default = 5'));
    assert.equal(assertNoError(await runCode(sbx, 'in_default', { language: 'python' })).text, '5');
  });

  test('createCodeContext({language, cwd}) returns the context and code runs in that cwd', 120_000, async () => {
    const ctx = await createContext({ language: 'python', cwd: '/tmp' });
    assert.equal(typeof ctx.id, 'string');
    assert.ok(ctx.id.length > 0);
    assert.equal(ctx.language, 'python');
    assert.equal(ctx.cwd, '/tmp');
    assert.equal(assertNoError(await runCode(sbx, 'import os\nos.getcwd()', { context: ctx })).text, '/tmp');
  });

  test('createCodeContext() without options gives a python context in /home/user', 120_000, async () => {
    const ctx = await createContext({});
    assert.equal(ctx.language, 'python');
    assert.equal(ctx.cwd, '/home/user');
    assert.equal(assertNoError(await runCode(sbx, 'import sys, os\nf"{sys.version_info.major}|{os.getcwd()}"', { context: ctx })).text, '3|/home/user');
  });

  test('contexts keep separate state', 120_000, async () => {
    const a = await createContext({ language: 'python' });
    const b = await createContext({ language: 'python' });
    assertNoError(await runCode(sbx, 'only_in_a = "a-value"', { context: a }));
    assert.equal(assertNoError(await runCode(sbx, 'only_in_a', { context: a })).text, 'a-value');
    const inB = await runCode(sbx, 'only_in_a', { context: b });
    assert.equal(inB.error?.name, 'NameError', describeExecution(inB));
    const inDefault = await runCode(sbx, 'only_in_a');
    assert.equal(inDefault.error?.name, 'NameError', describeExecution(inDefault));
  });

  test('listCodeContexts lists created contexts with language and cwd, plus default python and javascript ones', 120_000, async () => {
    const ctx = await createContext({ language: 'python', cwd: '/var' });
    const contexts = await listContexts();
    const found = contexts.find((c) => c.id === ctx.id);
    assert.ok(found, `context ${ctx.id} not listed: ${JSON.stringify(contexts)}`);
    assert.equal(found.language, 'python');
    assert.equal(found.cwd, '/var');
    const languages = contexts.map((c) => c.language);
    assert.ok(languages.includes('python'), `languages ${JSON.stringify(languages)}`);
    assert.ok(languages.includes('javascript'), `languages ${JSON.stringify(languages)}`);
  });

  test('restartCodeContext clears the state (NameError afterwards) and the context keeps working', 180_000, async () => {
    const ctx = await createContext({ language: 'python', cwd: '/tmp' });
    assertNoError(await runCode(sbx, 'survives_restart = 1', { context: ctx }));
    await withTimeout(sbx.restartCodeContext(ctx), CALL_MS * 2, 'restartCodeContext');
    const afterRestart = await runCode(sbx, 'survives_restart', { context: ctx });
    assert.equal(afterRestart.error?.name, 'NameError', describeExecution(afterRestart));
    assert.equal(assertNoError(await runCode(sbx, '2 + 3', { context: ctx })).text, '5');
    assert.ok((await listContexts()).some((c) => c.id === ctx.id), 'a restarted context stays listed');
  });

  test('removeCodeContext removes it from the list and code can no longer run in it', 120_000, async () => {
    const ctx = await createContext({ language: 'python' });
    assertNoError(await runCode(sbx, '1', { context: ctx }));
    await withTimeout(sbx.removeCodeContext(ctx.id), CALL_MS, 'removeCodeContext');
    assert.ok(!(await listContexts()).some((c) => c.id === ctx.id), 'removed context still listed');
    // A short requestTimeoutMs: the SDK leaves its request timer running when the server answers with an error.
    await rejection(sbx.runCode('1', { context: ctx, requestTimeoutMs: 10_000 }), CALL_MS, 'runCode in a removed context');
    await rejection(sbx.removeCodeContext(ctx.id), CALL_MS, 'removing a removed context');
  });
});
