import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { OutputMessage } from '@e2b/code-interpreter';
import type { CodeSandbox} from './code-helpers.js';
import { assertNoError, createCodeSandbox, runCode } from './code-helpers.js';
import { RUN_ID, e2eTest, sleep } from './helpers.js';
import { startStack, type Stack } from './stack.js';

/** The agent's bound on the text of one stdout/stderr line (packages/agent/src/code-interpreter/chunk.ts). */
const MAX_CHUNK_BYTES = 64 * 1024;
const MiB = 1024 * 1024;

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, { metadata: { suite: 'code-output-volume', run: RUN_ID }, timeoutMs: 900_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] code-output-volume sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

/** Line `i` as the cells below print it: 100 characters and a newline. */
const expectedLine = (i: number, fill: string): string => `${String(i).padStart(9, '0')} ${fill.repeat(90)}`;

/**
 * Checks streamed stdout piece by piece without keeping it: every line must be the next numbered
 * line, so a lost, duplicated or reordered byte anywhere fails.
 */
class LineChecker {
  lines = 0;
  bytes = 0;
  callbacks = 0;
  maxChunk = 0;
  private carry = '';

  constructor(private readonly fill: string) {}

  feed(text: string): void {
    this.callbacks += 1;
    this.bytes += Buffer.byteLength(text);
    this.maxChunk = Math.max(this.maxChunk, Buffer.byteLength(text));
    const data = this.carry + text;
    let start = 0;
    for (let nl = data.indexOf('\n'); nl !== -1; nl = data.indexOf('\n', start)) {
      const line = data.slice(start, nl);
      if (line !== expectedLine(this.lines, this.fill)) {
        assert.fail(`line ${this.lines} is wrong (callback ${this.callbacks}): ${JSON.stringify(line.slice(0, 120))}`);
      }
      this.lines += 1;
      start = nl + 1;
    }
    this.carry = data.slice(start);
  }

  finish(): void {
    assert.equal(this.carry, '', 'no partial line at the end');
  }
}

/** Samples this process's RSS until stopped; returns the peak growth over the starting RSS. */
function rssMeter(): { stop(): number } {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return peak - base;
    },
  };
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

describe('large cell output', () => {
  test('64 MB printed line by line streams in bounded chunks, in order, with bounded client memory', 600_000, async () => {
    const lines = 640_000; // 101 bytes each: 64.6 MB
    const checker = new LineChecker('x');
    const meter = rssMeter();
    const started = Date.now();
    const execution = await runCode(
      sbx,
      `for i in range(${lines}):\n    print(f"{i:09d} " + "x" * 90)`,
      { onStdout: (m: OutputMessage) => checker.feed(m.line), timeoutMs: 540_000 },
      560_000,
    );
    const growth = meter.stop();
    assertNoError(execution);
    checker.finish();
    // The SDK itself keeps every chunk in execution.logs.stdout (one byte per ASCII character in
    // V8): that much growth is the SDK's, not the stream's. Before chunking and backpressure this
    // cell reached the client as a handful of huge lines and the client grew by several times the output.
    const retained = execution.logs.stdout.reduce((sum, s) => sum + s.length, 0);
    console.error(
      `[e2e] ${mib(checker.bytes)} in ${checker.callbacks} onStdout callbacks, max ${checker.maxChunk} B, ` +
        `${((Date.now() - started) / 1000).toFixed(1)} s, client RSS +${mib(growth)} (SDK keeps ${mib(retained)} in execution.logs)`,
    );
    assert.equal(checker.lines, lines);
    assert.equal(checker.bytes, lines * 101);
    assert.equal(retained, lines * 101, 'execution.logs holds the same bytes');
    assert.ok(checker.maxChunk <= MAX_CHUNK_BYTES, `max chunk ${checker.maxChunk} B`);
    assert.ok(checker.callbacks >= (lines * 101) / MAX_CHUNK_BYTES, `many callbacks (${checker.callbacks})`);
    assert.ok(growth < retained + 192 * MiB, `client RSS grew by ${mib(growth)} for ${mib(retained)} of retained logs`);
  });

  test('one 50 MB print (a single Jupyter message) arrives as many bounded chunks', 600_000, async () => {
    const size = 50_000_000;
    let callbacks = 0;
    let total = 0;
    let maxChunk = 0;
    let allX = true;
    const meter = rssMeter();
    const execution = await runCode(
      sbx,
      `print("x" * ${size})`,
      {
        onStdout: (m: OutputMessage) => {
          callbacks += 1;
          total += m.line.length;
          maxChunk = Math.max(maxChunk, Buffer.byteLength(m.line));
          const body = total === size + 1 ? m.line.slice(0, -1) : m.line;
          if (/[^x]/.test(body)) allX = false;
        },
        timeoutMs: 540_000,
      },
      560_000,
    );
    const growth = meter.stop();
    assertNoError(execution);
    const retained = execution.logs.stdout.reduce((sum, s) => sum + s.length, 0);
    console.error(`[e2e] one print of ${mib(size)}: ${callbacks} callbacks, max ${maxChunk} B, client RSS +${mib(growth)} (SDK keeps ${mib(retained)})`);
    assert.equal(total, size + 1);
    assert.ok(allX, 'only x before the final newline');
    assert.equal(execution.logs.stdout.join('').endsWith('x\n'), true);
    assert.ok(maxChunk <= MAX_CHUNK_BYTES, `max chunk ${maxChunk} B`);
    assert.ok(callbacks >= Math.ceil((size + 1) / MAX_CHUNK_BYTES), `${callbacks} callbacks`);
    assert.ok(growth < retained + 192 * MiB, `client RSS grew by ${mib(growth)} for ${mib(retained)} of retained logs`);
  });

  test('a slow consumer gets every byte of output flushed in thousands of messages', 600_000, async () => {
    // Flushing every 50 lines makes ~4000 iopub messages, far more than ZeroMQ's default queue of
    // 1000, while the consumer, slower than the kernel, holds the stream back.
    const lines = 200_000; // 20 MB
    const checker = new LineChecker('y');
    const started = Date.now();
    const execution = await runCode(
      sbx,
      `import sys\nfor i in range(${lines}):\n    print(f"{i:09d} " + "y" * 90)\n    if i % 50 == 49: sys.stdout.flush()`,
      {
        onStdout: async (m: OutputMessage) => {
          checker.feed(m.line);
          if (checker.callbacks % 4 === 0) await sleep(5);
        },
        timeoutMs: 540_000,
      },
      560_000,
    );
    assertNoError(execution);
    checker.finish();
    console.error(
      `[e2e] slow consumer: ${mib(checker.bytes)} in ${checker.callbacks} callbacks, max ${checker.maxChunk} B, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    assert.equal(checker.lines, lines);
    assert.equal(checker.bytes, lines * 101);
    assert.ok(checker.maxChunk <= MAX_CHUNK_BYTES);
    // The context is usable right after.
    assert.equal(assertNoError(await runCode(sbx, '6 * 7')).text, '42');
  });
});
