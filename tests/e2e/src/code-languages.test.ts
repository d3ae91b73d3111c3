import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe } from 'node:test';
import type { CodeSandbox } from './code-helpers.js';
import { assertNoError, createCodeSandbox, describeExecution, runCode } from './code-helpers.js';
import { CALL_MS, RUN_ID, e2eTest, rejection } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);
const ABC_SHA256 = createHash('sha256').update('abc').digest('hex');

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, { metadata: { suite: 'code-languages', run: RUN_ID }, envs: { LANG_TEST_VAR: 'lang-env' }, timeoutMs: 900_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] code-languages sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

describe('javascript', () => {
  test('console.log goes to stdout and the last expression is the result', 120_000, async () => {
    const execution = assertNoError(await runCode(sbx, 'console.log("Hello, World!")\nconst add = (x, y) => x + y;\nadd(1, 2)', { language: 'js' }, 120_000));
    assert.equal(execution.logs.stdout.join('').trim(), 'Hello, World!');
    assert.equal(execution.text, '3');
  });

  test('state is kept between javascript runs', 60_000, async () => {
    assertNoError(await runCode(sbx, 'const z = 41', { language: 'js' }));
    assert.equal(assertNoError(await runCode(sbx, 'z + 1', { language: 'js' })).text, '42');
  });

  test('top-level await works in javascript', 60_000, async () => {
    const execution = assertNoError(
      await runCode(sbx, 'async function main() {\n  return "Hello, World!"\n}\nawait main()', { language: 'javascript' }),
    );
    assert.equal(execution.text, 'Hello, World!');
  });

  test('a node builtin can be imported with import syntax', 60_000, async () => {
    const execution = assertNoError(
      await runCode(sbx, 'import { createHash } from "node:crypto"\ncreateHash("sha256").update("abc").digest("hex")', { language: 'js' }),
    );
    assert.equal(execution.text, ABC_SHA256);
  });

  test('a thrown error gives execution.error and the context keeps working', 60_000, async () => {
    const execution = await runCode(sbx, 'throw new Error("boom")', { language: 'js' });
    assert.ok(execution.error, describeExecution(execution));
    assert.equal(execution.error.name, 'Error');
    assert.equal(execution.error.value, 'boom');
    assert.equal(assertNoError(await runCode(sbx, '1 + 1', { language: 'js' })).text, '2');
  });

  test('require works as on Node: builtins, and a package installed in the context cwd', 120_000, async () => {
    assert.equal(assertNoError(await runCode(sbx, 'require("fs").existsSync("/tmp")', { language: 'js' })).text, 'true');
    await sbx.files.write('/tmp/jsreq/node_modules/localpkg/package.json', JSON.stringify({ name: 'localpkg', version: '1.0.0', main: 'index.js' }));
    await sbx.files.write('/tmp/jsreq/node_modules/localpkg/index.js', 'module.exports = { answer: 42, kind: typeof module };');
    const ctx = await withTimeout(sbx.createCodeContext({ language: 'js', cwd: '/tmp/jsreq' }), CALL_MS * 2, 'createCodeContext js');
    const execution = assertNoError(await runCode(sbx, 'const pkg = require("localpkg");\n`${pkg.answer} ${pkg.kind}`', { context: ctx }));
    assert.equal(execution.text, '42 object');
  });

  test('a javascript context honours its cwd and the sandbox env vars', 120_000, async () => {
    assert.equal(assertNoError(await runCode(sbx, 'process.cwd()', { language: 'js' })).text, '/home/user');
    const ctx = await withTimeout(sbx.createCodeContext({ language: 'js', cwd: '/tmp' }), CALL_MS * 2, 'createCodeContext js');
    assert.equal(ctx.language, 'javascript');
    assert.equal(assertNoError(await runCode(sbx, 'process.cwd()', { context: ctx })).text, '/tmp');
    assert.equal(assertNoError(await runCode(sbx, 'process.env.LANG_TEST_VAR', { context: ctx })).text, 'lang-env');
  });
});

describe('typescript', () => {
  test('typed code runs and keeps state between runs', 120_000, async () => {
    const first = assertNoError(
      await runCode(sbx, 'function subtract(x: number, y: number): number {\n  return x - y;\n}\nconst base: number = 10;\nsubtract(1, 2)', { language: 'ts' }, 120_000),
    );
    assert.equal(first.text, '-1');
    assert.equal(assertNoError(await runCode(sbx, 'subtract(base, 3)', { language: 'typescript' })).text, '7');
  });

  test('top-level await and node builtin imports work in typescript', 60_000, async () => {
    const awaited = assertNoError(await runCode(sbx, 'const v: string = await Promise.resolve("awaited");\nv', { language: 'ts' }));
    assert.equal(awaited.text, 'awaited');
    const hashed = assertNoError(
      await runCode(sbx, 'import { createHash } from "node:crypto";\nconst h: string = createHash("sha256").update("abc").digest("hex");\nh', { language: 'ts' }),
    );
    assert.equal(hashed.text, ABC_SHA256);
  });
});

/** IRkernel shows every visible value as display data (E2B's tests read results[0]), never an execute_result. */
const rValue = (execution: { results: Array<{ text?: string }> }): string | undefined => execution.results[0]?.text?.trim();

describe('r', () => {
  test('R runs with state kept between cells; the value prints as R prints it', 180_000, async () => {
    assertNoError(await runCode(sbx, 'x <- 41', { language: 'r', timeoutMs: 170_000 }, 180_000));
    assert.equal(rValue(assertNoError(await runCode(sbx, 'x + 1', { language: 'r' }))), '[1] 42');
  });

  test('R sees the sandbox env vars, per-run envs (then restored) and its cwd', 120_000, async () => {
    assert.equal(rValue(assertNoError(await runCode(sbx, 'Sys.getenv("LANG_TEST_VAR")', { language: 'r' }))), '[1] "lang-env"');
    const perRun = assertNoError(await runCode(sbx, 'Sys.getenv("FOO")', { language: 'r', envs: { FOO: 'b"a\\r' } }));
    assert.equal(rValue(perRun), '[1] "b\\"a\\\\r"');
    assert.equal(rValue(assertNoError(await runCode(sbx, 'Sys.getenv("FOO", unset = "default")', { language: 'r' }))), '[1] "default"');
    assert.equal(rValue(assertNoError(await runCode(sbx, 'getwd()', { language: 'r' }))), '[1] "/home/user"');
    const ctx = await withTimeout(sbx.createCodeContext({ language: 'r', cwd: '/tmp' }), CALL_MS * 3, 'createCodeContext r');
    assert.equal(ctx.language, 'r');
    assert.equal(rValue(assertNoError(await runCode(sbx, 'getwd()', { context: ctx }))), '[1] "/tmp"');
  });

  test('an R error gives execution.error and printed output streams to stdout', 120_000, async () => {
    const printed = assertNoError(await runCode(sbx, 'cat("hello\\n")', { language: 'r' }));
    assert.equal(printed.logs.stdout.join(''), 'hello\n');
    const failed = await runCode(sbx, 'stop("boom")', { language: 'r' });
    assert.ok(failed.error, describeExecution(failed));
    assert.match(failed.error.value, /boom/);
  });
});

describe('java', () => {
  test('Java runs with state kept between cells; a String value is shown as its text', 240_000, async () => {
    assertNoError(await runCode(sbx, 'int x = 41;\nString greet(String name) { return "hi " + name; }', { language: 'java', timeoutMs: 230_000 }, 240_000));
    assert.equal(assertNoError(await runCode(sbx, 'x + 1', { language: 'java' })).text, '42');
    assert.equal(assertNoError(await runCode(sbx, 'greet("\\"you\\"")', { language: 'java' })).text, 'hi "you"');
    const printed = assertNoError(await runCode(sbx, 'System.out.println("out");\nSystem.err.println("err");', { language: 'java' }));
    assert.deepEqual([printed.logs.stdout.join(''), printed.logs.stderr.join('')], ['out\n', 'err\n']);
    assert.equal(printed.results.length, 0, describeExecution(printed));
  });

  test('Java sees the sandbox env vars and per-run envs as system properties, and its cwd', 120_000, async () => {
    assert.equal(assertNoError(await runCode(sbx, 'System.getProperty("LANG_TEST_VAR")', { language: 'java' })).text, 'lang-env');
    assert.equal(assertNoError(await runCode(sbx, 'System.getenv("LANG_TEST_VAR")', { language: 'java' })).text, 'lang-env');
    assert.equal(assertNoError(await runCode(sbx, 'System.getProperty("FOO")', { language: 'java', envs: { FOO: 'bar' } })).text, 'bar');
    assert.equal(assertNoError(await runCode(sbx, 'System.getProperty("FOO", "default")', { language: 'java' })).text, 'default');
    assert.equal(assertNoError(await runCode(sbx, 'System.getProperty("user.dir")', { language: 'java' })).text, '/home/user');
  });

  test('an exception or a compile error gives execution.error; the context keeps working', 120_000, async () => {
    const thrown = await runCode(sbx, 'int a = 1;\nint b = a / 0;', { language: 'java' });
    assert.ok(thrown.error, describeExecution(thrown));
    assert.equal(thrown.error.name, 'ArithmeticException');
    assert.match(thrown.error.value, /by zero/);
    const rejected = await runCode(sbx, 'int c = "not a number";', { language: 'java' });
    assert.ok(rejected.error, describeExecution(rejected));
    assert.equal(rejected.error.name, 'CompilationException');
    assert.match(rejected.error.value, /incompatible types/);
    assert.equal(assertNoError(await runCode(sbx, 'a + 1', { language: 'java' })).text, '2');
  });

  test('an endless Java cell is interrupted by the SDK timeout and the context keeps its state', 180_000, async () => {
    assertNoError(await runCode(sbx, 'int kept = 7;', { language: 'java' }));
    await rejection(sbx.runCode('while (true) { Thread.onSpinWait(); }', { language: 'java', timeoutMs: 5_000 }), 60_000, 'endless Java cell past its timeoutMs');
    const next = await withTimeout(sbx.runCode('kept', { language: 'java' }), 20_000, 'runCode after the endless Java cell');
    assert.equal(assertNoError(next).text, '7');
  });
});

describe('bash', () => {
  test('bash keeps the working directory and variables across cells', 120_000, async () => {
    assertNoError(await runCode(sbx, 'cd /tmp\nMY_VAR=kept-value', { language: 'bash' }, 120_000));
    const execution = assertNoError(await runCode(sbx, 'pwd\necho "$MY_VAR"', { language: 'bash' }));
    assert.equal(execution.logs.stdout.join(''), '/tmp\nkept-value\n');
  });

  test('bash sees the sandbox env vars and per-run envs', 60_000, async () => {
    const execution = assertNoError(await runCode(sbx, 'echo "$LANG_TEST_VAR $RUN_VAR"', { language: 'bash', envs: { RUN_VAR: 'per-run' } }));
    assert.equal(execution.logs.stdout.join(''), 'lang-env per-run\n');
  });

  test('a failing bash command reports an error and its message', 60_000, async () => {
    const execution = await runCode(sbx, 'ls /definitely/not/here', { language: 'bash' });
    assert.ok(execution.error, `a failing command must give execution.error: ${describeExecution(execution)}`);
    const output = execution.logs.stdout.join('') + execution.logs.stderr.join('');
    assert.match(output, /No such file or directory/, describeExecution(execution));
  });
});
