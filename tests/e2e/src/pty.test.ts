import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { CommandHandle, Sandbox } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: Sandbox;
const test = e2eTest(() => stack);
const encoder = new TextEncoder();

before(async () => {
  stack = await startStack();
  sbx = await createSandbox(stack, { metadata: { suite: 'pty', run: RUN_ID }, timeoutMs: 600_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] pty sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

/** A PTY whose decoded output accumulates in `output()`. */
async function openPty(opts: { cols?: number; rows?: number; cwd?: string; envs?: Record<string, string> } = {}): Promise<{ handle: CommandHandle; output: () => string; type: (text: string) => Promise<void> }> {
  const decoder = new TextDecoder();
  let output = '';
  const handle = await withTimeout(
    sbx.pty.create({
      cols: opts.cols ?? 80,
      rows: opts.rows ?? 24,
      timeoutMs: 120_000,
      onData: (data) => {
        output += decoder.decode(data, { stream: true });
      },
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      ...(opts.envs ? { envs: opts.envs } : {}),
    }),
    CALL_MS,
    'pty.create',
  );
  const type = (text: string): Promise<void> => withTimeout(sbx.pty.sendInput(handle.pid, encoder.encode(text)), CALL_MS, 'pty.sendInput');
  return { handle, output: () => output, type };
}

/** Waits until the PTY output matches `pattern`. */
function expectOutput(pty: { output: () => string }, pattern: RegExp, label: string): Promise<true> {
  return waitFor(async () => pattern.test(pty.output()), 15_000, `${label} (output so far: ${JSON.stringify(pty.output().slice(-400))})`, 100);
}

describe('pty', () => {
  test('stty size reports the created size, then the size given to pty.resize', 90_000, async () => {
    const pty = await openPty({ cols: 80, rows: 24 });
    try {
      await pty.type('echo "SIZE=$(stty size)"\n');
      await expectOutput(pty, /SIZE=24 80/, 'initial size');
      await withTimeout(sbx.pty.resize(pty.handle.pid, { cols: 100, rows: 30 }), CALL_MS, 'pty.resize');
      await pty.type('echo "SIZE=$(stty size)"\n');
      await expectOutput(pty, /SIZE=30 100/, 'size after resize');
      await pty.type('exit 0\n');
      const result = await withTimeout(pty.handle.wait(), CALL_MS, 'pty wait after exit');
      assert.equal(result.exitCode, 0);
    } finally {
      await sbx.pty.kill(pty.handle.pid).catch(() => false);
    }
  });

  test('the pty is a terminal with TERM set, running as the default user', 90_000, async () => {
    const pty = await openPty();
    try {
      await pty.type('echo "TTY=$(tty) TERM=$TERM WHO=$(whoami)"\n');
      await expectOutput(pty, /TTY=\/dev\/pts\/\d+ TERM=xterm-256color WHO=user/, 'tty facts');
    } finally {
      await sbx.pty.kill(pty.handle.pid).catch(() => false);
    }
  });

  test('pty.create honours cwd and envs', 90_000, async () => {
    const pty = await openPty({ cwd: '/tmp', envs: { PTY_VAR: 'pty-value' } });
    try {
      await pty.type('echo "CWD=$(pwd) VAR=$PTY_VAR"\n');
      await expectOutput(pty, /CWD=\/tmp VAR=pty-value/, 'cwd and env');
    } finally {
      await sbx.pty.kill(pty.handle.pid).catch(() => false);
    }
  });

  test('Ctrl-C sent as input interrupts the foreground program', 90_000, async () => {
    const pty = await openPty();
    try {
      await pty.type('sleep 100\n');
      await new Promise((r) => setTimeout(r, 500));
      await pty.type('\x03');
      await pty.type('echo "AFTER=$((40 + 2))"\n');
      await expectOutput(pty, /AFTER=42/, 'shell answers after Ctrl-C');
    } finally {
      await sbx.pty.kill(pty.handle.pid).catch(() => false);
    }
  });

  test('pty.kill ends the pty: kill returns true and the process leaves the list', 90_000, async () => {
    const pty = await openPty();
    await pty.type('echo READY\n');
    await expectOutput(pty, /READY/, 'pty ready');
    assert.ok((await withTimeout(sbx.commands.list(), CALL_MS, 'list')).some((p) => p.pid === pty.handle.pid));
    assert.equal(await withTimeout(sbx.pty.kill(pty.handle.pid), CALL_MS, 'pty.kill'), true);
    const settled = await withTimeout(
      pty.handle.wait().then(
        (r) => r.exitCode,
        () => 'rejected',
      ),
      CALL_MS,
      'wait of a killed pty',
    );
    assert.notEqual(settled, 0, 'a killed pty must not report a clean exit');
    await waitFor(
      async () => !(await sbx.commands.list()).some((p) => p.pid === pty.handle.pid),
      10_000,
      'killed pty leaves the process list',
    );
  });
});
