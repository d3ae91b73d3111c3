import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { ExecutionError, OutputMessage, Result } from '@e2b/code-interpreter';
import type { CodeSandbox} from './code-helpers.js';
import { assertNoError, createCodeSandbox, describeExecution, runCode } from './code-helpers.js';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, rawFetch, rest } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, {
    metadata: { suite: 'code-basic', run: RUN_ID },
    envs: { SBX_VAR: 'from-create', SHADOWED: 'sandbox-value' },
    timeoutMs: 900_000,
  });
});
after(async () => {
  if (sbx) console.error(`[e2e] code-basic sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

describe('python execution', () => {
  test('state persists between runs: x = 1 then x + 1 gives "2"', 120_000, async () => {
    const first = assertNoError(await runCode(sbx, 'x = 1'));
    assert.equal(first.results.length, 0, describeExecution(first));
    const second = assertNoError(await runCode(sbx, 'x + 1'));
    assert.equal(second.text, '2');
    assert.equal(second.results.length, 1);
    assert.equal(second.results[0]?.isMainResult, true);
  });

  test('print output goes to logs.stdout and sys.stderr to logs.stderr', 60_000, async () => {
    const execution = assertNoError(await runCode(sbx, 'import sys\nprint("to stdout")\nprint("to stderr", file=sys.stderr)'));
    assert.equal(execution.logs.stdout.join(''), 'to stdout\n');
    assert.equal(execution.logs.stderr.join(''), 'to stderr\n');
    assert.equal(execution.results.length, 0);
  });

  test('onStdout delivers lines in order while the code runs, then onResult gets the result', 60_000, async () => {
    const events: string[] = [];
    const stdoutAt: number[] = [];
    const code = 'import time\nfor i in range(5):\n    print(f"line{i}", flush=True)\n    time.sleep(0.3)\n"finished"';
    const execution = assertNoError(
      await runCode(sbx, code, {
        onStdout: (m: OutputMessage) => {
          stdoutAt.push(Date.now());
          events.push(`stdout:${m.line}`);
          assert.equal(m.error, false);
        },
        onResult: (r: Result) => void events.push(`result:${r.text}`),
      }),
    );
    const doneAt = Date.now();
    const stdoutText = events.filter((e) => e.startsWith('stdout:')).map((e) => e.slice('stdout:'.length)).join('');
    assert.equal(stdoutText, 'line0\nline1\nline2\nline3\nline4\n');
    assert.equal(events.at(-1), 'result:finished', `event order: ${JSON.stringify(events)}`);
    assert.equal(events.filter((e) => e.startsWith('result:')).length, 1);
    assert.ok(doneAt - (stdoutAt[0] ?? doneAt) >= 1_000, 'the first line must arrive while the code is still running');
    assert.equal(execution.text, 'finished');
  });

  test('an exception gives execution.error with name, value and traceback, and calls onError', 60_000, async () => {
    const seen: ExecutionError[] = [];
    const execution = await runCode(sbx, 'def boom():\n    return 1 / 0\nboom()', { onError: (e: ExecutionError) => void seen.push(e) });
    assert.ok(execution.error, describeExecution(execution));
    assert.equal(execution.error.name, 'ZeroDivisionError');
    assert.equal(execution.error.value, 'division by zero');
    assert.match(execution.error.traceback, /ZeroDivisionError/);
    assert.match(execution.error.traceback, /boom/);
    assert.equal(execution.results.length, 0);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.name, 'ZeroDivisionError');

    const syntax = await runCode(sbx, 'def broken(:\n    pass');
    assert.equal(syntax.error?.name, 'SyntaxError', describeExecution(syntax));
    const after = assertNoError(await runCode(sbx, '"still works"'));
    assert.equal(after.text, 'still works');
  });

  test('executionCount increases by one per execution', 60_000, async () => {
    const a = await runCode(sbx, '10');
    const b = await runCode(sbx, '20');
    assert.equal(typeof a.executionCount, 'number', describeExecution(a));
    assert.equal(b.executionCount, (a.executionCount ?? 0) + 1);
  });
});

describe('environment variables', () => {
  test('sandbox envs given at create are visible in os.environ', 60_000, async () => {
    assert.equal(assertNoError(await runCode(sbx, 'import os\nos.environ["SBX_VAR"]')).text, 'from-create');
  });

  test('per-run envs are visible in that run only, and overrides of sandbox envs are reverted', 60_000, async () => {
    const withEnvs = assertNoError(
      await runCode(sbx, 'import os\nf"{os.environ.get(\'REQ_VAR\')}|{os.environ.get(\'SHADOWED\')}"', { envs: { REQ_VAR: 'r1', SHADOWED: 'run-value' } }),
    );
    assert.equal(withEnvs.text, 'r1|run-value');
    const next = assertNoError(await runCode(sbx, 'import os\nf"{os.environ.get(\'REQ_VAR\')}|{os.environ.get(\'SHADOWED\')}"'));
    assert.equal(next.text, 'None|sandbox-value');
  });
});

describe('rich results', () => {
  test('display() calls give extra results before the main result', 60_000, async () => {
    const execution = assertNoError(
      await runCode(sbx, 'from IPython.display import display, HTML, Markdown\ndisplay(HTML("<b>bold</b>"))\ndisplay(Markdown("# Title"))\n7 * 6'),
    );
    assert.equal(execution.results.length, 3, describeExecution(execution));
    const [html, markdown, main] = execution.results;
    assert.equal(html?.isMainResult, false);
    assert.match(html?.html ?? '', /<b>bold<\/b>/);
    assert.equal(markdown?.isMainResult, false);
    assert.equal(markdown?.markdown, '# Title');
    assert.equal(main?.isMainResult, true);
    assert.equal(main?.text, '42');
    assert.equal(execution.text, '42');
  });

  test('a matplotlib figure is displayed as a PNG result with text', 90_000, async () => {
    const execution = assertNoError(
      await runCode(sbx, 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()', {}, 90_000),
    );
    const image = execution.results.find((r) => r.png);
    assert.ok(image, describeExecution(execution));
    assert.ok(Buffer.from(image.png ?? '', 'base64').subarray(1, 4).toString('latin1') === 'PNG', 'png is base64 PNG data');
    assert.ok(image.text);
  });

  test('a pandas DataFrame gives an html table and its data', 90_000, async () => {
    const execution = assertNoError(await runCode(sbx, 'import pandas as pd\npd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})', {}, 90_000));
    const main = execution.results.find((r) => r.isMainResult);
    assert.ok(main, describeExecution(execution));
    assert.match(main.html ?? '', /<table/);
    assert.ok(main.text?.includes('a'));
    assert.deepEqual(main.data, { a: [1, 2, 3], b: ['x', 'y', 'z'] });
  });
});

describe('usage extension', () => {
  test('a raw /execute stream ends with a usage line (wall, cpu, peak memory) before end_of_execution', 240_000, async () => {
    const created = await rest(stack, 'POST', '/v2/sandboxes', {
      body: JSON.stringify({ templateID: 'code-interpreter-v1', timeout: 300, metadata: { suite: 'code-basic', run: RUN_ID } }),
      ms: CREATE_MS,
    });
    assert.equal(created.status, 201, created.text);
    const { sandboxID, envdAccessToken } = created.json as { sandboxID: string; envdAccessToken?: string };
    try {
      assert.ok(envdAccessToken, 'create returns an envdAccessToken');
      const route = { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sandboxID, 'E2b-Sandbox-Port': '49999' };
      const call = (path: string, method: string, headers: Record<string, string>, body?: string) =>
        rawFetch(`${stack.sandboxUrl}${path}`, { method, headers: { ...route, ...headers }, ...(body ? { body } : {}) }, CREATE_MS);
      const code = JSON.stringify({ code: '1' });
      assert.equal((await call('/execute', 'POST', {}, code)).status, 401, '/execute without the token');
      assert.equal((await call('/execute', 'POST', { 'X-Access-Token': 'wrong' }, code)).status, 401, '/execute with a wrong token');
      assert.equal((await call('/contexts', 'GET', { 'X-Access-Token': 'wrong' })).status, 401, '/contexts with a wrong token');
      // The official SDK sends no token on /contexts: it must keep working.
      assert.equal((await call('/contexts', 'GET', {})).status, 200, '/contexts as the SDK calls it');
      const res = await rawFetch(
        `${stack.sandboxUrl}/execute`,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sandboxID, 'E2b-Sandbox-Port': '49999', 'X-Access-Token': envdAccessToken },
          body: JSON.stringify({ code: 'sum(range(10**6))' }),
        },
        CREATE_MS,
      );
      assert.equal(res.status, 200, res.text);
      const lines = res.text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
      const types = lines.map((l) => l['type']);
      assert.equal(types.at(-1), 'end_of_execution', `types: ${types.join(',')}`);
      const usageIndex = types.indexOf('usage');
      assert.ok(usageIndex >= 0, `no usage line in ${res.text}`);
      assert.equal(usageIndex, types.length - 2, `usage must come just before end_of_execution: ${types.join(',')}`);
      const usage = lines[usageIndex] as { wall_time_ms: unknown; cpu_time_ms: unknown; peak_memory_bytes: unknown };
      for (const key of ['wall_time_ms', 'cpu_time_ms', 'peak_memory_bytes'] as const) {
        assert.equal(typeof usage[key], 'number', `${key} in ${JSON.stringify(usage)}`);
        assert.ok((usage[key] as number) >= 0, `${key} in ${JSON.stringify(usage)}`);
      }
      assert.ok((usage.wall_time_ms as number) > 0);
      assert.ok((usage.peak_memory_bytes as number) > 1024 * 1024, `peak memory ${String(usage.peak_memory_bytes)}`);
      const result = lines.find((l) => l['type'] === 'result');
      assert.equal(result?.['text'], '499999500000');
    } finally {
      await withTimeout(rest(stack, 'DELETE', `/sandboxes/${sandboxID}`), CALL_MS, 'kill raw sandbox').catch(() => undefined);
    }
  });
});
