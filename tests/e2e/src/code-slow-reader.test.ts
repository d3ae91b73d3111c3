import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox } from '@e2b/code-interpreter';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, rest, sleep } from './helpers.js';
import { startStack, type Stack } from './stack.js';

const MiB = 1024 * 1024;

let stack: Stack;
let sandboxID: string;
let accessToken: string;
let sbx: Sandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  const created = await rest(stack, 'POST', '/v2/sandboxes', {
    body: JSON.stringify({ templateID: 'code-interpreter-v1', timeout: 600, metadata: { suite: 'code-slow-reader', run: RUN_ID } }),
    ms: CREATE_MS,
  });
  assert.equal(created.status, 201, created.text);
  ({ sandboxID, envdAccessToken: accessToken } = created.json as { sandboxID: string; envdAccessToken: string });
  sbx = await Sandbox.connect(sandboxID, stack.sdk);
});
after(async () => {
  await stack?.stop();
});

/** Resident memory of the in-sandbox agent (the node process serving envd and the code interpreter), in bytes. */
async function agentRss(): Promise<number> {
  const out = await sbx.commands.run("for p in $(pgrep -f agent.bundle.mjs); do [ \"$(cat /proc/$p/comm)\" != tini ] && ps -o rss= -p $p; done | head -1", { user: 'root', timeoutMs: CALL_MS });
  return Number(out.stdout.trim()) * 1024;
}

/** The process states (`ps -o stat`) of the Python kernel processes. */
async function kernelStates(): Promise<string[]> {
  const out = await sbx.commands.run("ps -eo stat=,args= | grep '[i]pykernel' | awk '{print $1}'", { user: 'root', timeoutMs: CALL_MS });
  return out.stdout.split('\n').filter((s) => s.length > 0);
}

describe('a client that reads output slower than the kernel prints it', () => {
  test('the kernel is paused, the agent stays bounded, and every byte arrives once the client reads on', 600_000, async () => {
    // Warm the default context so the kernel exists before measuring.
    const warm = await fetch(`${stack.sandboxUrl}/execute`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sandboxID, 'E2b-Sandbox-Port': '49999', 'X-Access-Token': accessToken },
      body: JSON.stringify({ code: '1' }),
    });
    await warm.text();
    const baseline = await agentRss();

    const lines = 3_000;
    const width = 100_000; // 300 MB in all, flushed line by line
    const controller = new AbortController();
    const res = await fetch(`${stack.sandboxUrl}/execute`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sandboxID, 'E2b-Sandbox-Port': '49999', 'X-Access-Token': accessToken },
      body: JSON.stringify({ code: `import sys\nfor i in range(${lines}):\n    sys.stdout.write("z" * ${width} + "\\n")\n    sys.stdout.flush()` }),
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    assert.ok(res.body);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let carry = '';
    let stdoutBytes = 0;
    let ended = false;
    const types = new Set<string>();
    const consume = (text: string): void => {
      const data = carry + text;
      let start = 0;
      for (let nl = data.indexOf('\n'); nl !== -1; nl = data.indexOf('\n', start)) {
        const line = data.slice(start, nl);
        start = nl + 1;
        if (line.length === 0) continue;
        const message = JSON.parse(line) as { type: string; text?: string };
        types.add(message.type);
        if (message.type === 'stdout') stdoutBytes += message.text?.length ?? 0;
        if (message.type === 'end_of_execution') ended = true;
        assert.notEqual(message.type, 'error', line.slice(0, 400));
      }
      carry = data.slice(start);
    };
    // Read the first bit of output, then stop reading for a while.
    const first = await reader.read();
    assert.equal(first.done, false);
    consume(decoder.decode(first.value, { stream: true }));
    await sleep(8_000);
    const states = await kernelStates();
    const during = await agentRss();
    const growth = during - baseline;
    console.error(`[e2e] slow reader: kernel states ${states.join(',')} while the client did not read; agent RSS ${(baseline / MiB).toFixed(0)} -> ${(during / MiB).toFixed(0)} MiB`);
    assert.ok(states.some((s) => s.startsWith('T')), `the kernel is stopped while its output is not read (states: ${states.join(',')})`);
    assert.ok(growth < 128 * MiB, `agent RSS grew by ${(growth / MiB).toFixed(0)} MiB while the client did not read 300 MB`);

    const deadline = Date.now() + 480_000;
    while (!ended && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      consume(decoder.decode(chunk.value, { stream: true }));
    }
    controller.abort();
    assert.ok(ended, `the stream reached end_of_execution (types seen: ${[...types].join(',')})`);
    assert.equal(stdoutBytes, lines * (width + 1), 'every byte printed arrived');
    const after = await kernelStates();
    assert.ok(after.every((s) => !s.startsWith('T')), `the kernel runs again after the cell (states: ${after.join(',')})`);
    const next = await sbx.runCode('6 * 7', { timeoutMs: CALL_MS });
    assert.equal(next.text, '42');
  });
});
