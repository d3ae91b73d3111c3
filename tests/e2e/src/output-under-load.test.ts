import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { createSandbox, e2eTest } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

describe('no lost output under load', () => {
  test('hundreds of short commands in a sandbox whose CPU is saturated: every byte of stdout and stderr arrives', 600_000, async () => {
    const sandbox = await createSandbox(stack);
    // Saturate the sandbox's CPU (more spinners than cores) for the whole run.
    const spin = await sandbox.commands.run('for i in 1 2 3 4 5 6; do (while :; do :; done) & done; wait', { background: true });
    const total = 300;
    const parallel = 12;
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const i = next++;
        // Output written right before a quick exit: the case that used to come back empty.
        const r = await sandbox.commands.run(`printf 'out-%s\\nsecond-%s\\n' ${i} ${i}; printf 'err-%s\\n' ${i} >&2`, { timeoutMs: 120_000 });
        if (r.exitCode !== 0 || r.stdout !== `out-${i}\nsecond-${i}\n` || r.stderr !== `err-${i}\n`) {
          failures.push(`#${i}: exit ${r.exitCode} stdout ${JSON.stringify(r.stdout)} stderr ${JSON.stringify(r.stderr)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
    await spin.kill();
    assert.deepEqual(failures, [], `${failures.length} of ${total} commands lost output`);

    // And a larger output from a process that exits at once, streamed through the callbacks.
    const chunks: string[] = [];
    const big = await sandbox.commands.run('seq 1 50000', { onStdout: (d) => void chunks.push(d) });
    const expected = Array.from({ length: 50000 }, (_, k) => String(k + 1)).join('\n') + '\n';
    assert.equal(big.stdout, expected);
    assert.equal(chunks.join(''), expected, 'the callbacks saw every byte, in order');
    await sandbox.kill();
  });
});
