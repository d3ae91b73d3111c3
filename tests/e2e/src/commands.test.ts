import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { CommandExitError, TimeoutError, type Sandbox } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, rejection, run, sleep, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: Sandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createSandbox(stack, {
    metadata: { suite: 'commands', run: RUN_ID },
    envs: { GLOBAL_VAR: 'global-value', SHADOWED: 'from-sandbox' },
    timeoutMs: 900_000,
  });
});
after(async () => {
  if (sbx) console.error(`[e2e] commands sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

/** The pids of the processes the sandbox reports as running. */
async function runningPids(): Promise<number[]> {
  return (await withTimeout(sbx.commands.list(), CALL_MS, 'commands.list')).map((p) => p.pid);
}

describe('output and exit codes', () => {
  test('stdout, stderr and exit code 0 of a successful command', 90_000, async () => {
    const result = await run(sbx, 'echo hello; echo oops >&2');
    assert.equal(result.stdout, 'hello\n');
    assert.equal(result.stderr, 'oops\n');
    assert.equal(result.exitCode, 0);
  });

  test('UTF-8 output is returned intact', 90_000, async () => {
    assert.equal((await run(sbx, "printf 'h\\xc3\\xa9llo \\xe2\\x9c\\x93\\n'")).stdout, 'héllo ✓\n');
  });

  test('a non-zero exit rejects with CommandExitError carrying exitCode, stdout and stderr', 90_000, async () => {
    const err = await rejection(sbx.commands.run('echo partial; echo bad >&2; exit 7'), CALL_MS, 'exit 7');
    assert.ok(err instanceof CommandExitError, `expected CommandExitError, got ${String(err)}`);
    assert.equal(err.exitCode, 7);
    assert.equal(err.stdout, 'partial\n');
    assert.equal(err.stderr, 'bad\n');
    const falseErr = await rejection(sbx.commands.run('false'), CALL_MS, 'false');
    assert.ok(falseErr instanceof CommandExitError);
    assert.equal(falseErr.exitCode, 1);
  });

  test('large output (200 000 lines) arrives complete and in order', 120_000, async () => {
    const result = await run(sbx, 'seq 1 200000');
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 200_000);
    assert.equal(lines[0], '1');
    assert.equal(lines[123_456], '123457');
    assert.equal(lines.at(-1), '200000');
  });

  test('onStdout and onStderr stream output while the command is still running', 90_000, async () => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    let firstStdoutAt = 0;
    const result = await run(sbx, 'echo a; sleep 1; echo b >&2; sleep 1; echo c', {
      onStdout: (data) => {
        firstStdoutAt ||= Date.now();
        stdout.push(data);
      },
      onStderr: (data) => void stderr.push(data),
    });
    const doneAt = Date.now();
    assert.equal(stdout.join(''), 'a\nc\n');
    assert.equal(stderr.join(''), 'b\n');
    assert.equal(result.stdout, 'a\nc\n');
    assert.ok(firstStdoutAt > 0 && doneAt - firstStdoutAt >= 1_500, `first stdout came ${doneAt - firstStdoutAt} ms before the end`);
  });
});

describe('environment, cwd and users', () => {
  test('sandbox envs are visible; per-command envs add to and override them', 90_000, async () => {
    const result = await run(sbx, 'echo "$GLOBAL_VAR $SHADOWED $LOCAL_VAR"', { envs: { SHADOWED: 'from-command', LOCAL_VAR: 'local' } });
    assert.equal(result.stdout, 'global-value from-command local\n');
    assert.equal((await run(sbx, 'echo "$SHADOWED ${LOCAL_VAR:-unset}"')).stdout, 'from-sandbox unset\n');
  });

  test('cwd defaults to the home directory and is honoured when given', 90_000, async () => {
    assert.equal((await run(sbx, 'pwd')).stdout, '/home/user\n');
    assert.equal((await run(sbx, 'pwd', { cwd: '/tmp' })).stdout, '/tmp\n');
    await rejection(sbx.commands.run('pwd', { cwd: '/does/not/exist' }), CALL_MS, 'cwd that does not exist');
  });

  test('commands run as user by default and as root with user: "root"', 90_000, async () => {
    assert.equal((await run(sbx, 'whoami')).stdout, 'user\n');
    assert.equal((await run(sbx, 'echo $HOME')).stdout, '/home/user\n');
    assert.equal((await run(sbx, 'whoami', { user: 'root' })).stdout, 'root\n');
    assert.equal((await run(sbx, 'id -u', { user: 'root' })).stdout, '0\n');
    assert.equal((await run(sbx, 'pwd', { user: 'root' })).stdout, '/root\n');
  });

  test('sudo works for the default user without a password', 90_000, async () => {
    assert.equal((await run(sbx, 'sudo echo works')).stdout, 'works\n');
    assert.equal((await run(sbx, 'sudo -n whoami')).stdout, 'root\n');
  });
});

describe('background processes', () => {
  test('background: true returns a handle at once; wait() gives the result', 90_000, async () => {
    const startedAt = Date.now();
    const handle = await withTimeout(sbx.commands.run('sleep 2; echo done', { background: true }), CALL_MS, 'start');
    assert.ok(Date.now() - startedAt < 1_900, 'run with background: true must not wait for the command');
    assert.ok(handle.pid > 0);
    assert.equal(handle.exitCode, undefined);
    const result = await withTimeout(handle.wait(), CALL_MS, 'wait');
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout, 'done\n');
  });

  test('handle.kill() stops a background command; wait() then rejects', 90_000, async () => {
    const handle = await withTimeout(sbx.commands.run('sleep 600', { background: true }), CALL_MS, 'start');
    assert.ok((await runningPids()).includes(handle.pid));
    assert.equal(await withTimeout(handle.kill(), CALL_MS, 'kill'), true);
    const err = await rejection(handle.wait(), CALL_MS, 'wait of a killed command');
    assert.ok(err instanceof CommandExitError, `expected CommandExitError, got ${String(err)}`);
    assert.notEqual(err.exitCode, 0);
    await waitFor(async () => !(await runningPids()).includes(handle.pid), 10_000, 'killed pid leaves the process list');
  });

  test('commands.list shows a running command with its pid, args, envs and cwd', 90_000, async () => {
    const handle = await withTimeout(
      sbx.commands.run('sleep 301', { background: true, envs: { MARK: 'listed' }, cwd: '/tmp' }),
      CALL_MS,
      'start',
    );
    try {
      const processes = await withTimeout(sbx.commands.list(), CALL_MS, 'list');
      const entry = processes.find((p) => p.pid === handle.pid);
      assert.ok(entry, `pid ${handle.pid} not listed: ${JSON.stringify(processes)}`);
      assert.ok(entry.args.join(' ').includes('sleep 301'), `args ${JSON.stringify(entry.args)}`);
      assert.equal(entry.envs['MARK'], 'listed');
      assert.equal(entry.cwd, '/tmp');
    } finally {
      await sbx.commands.kill(handle.pid).catch(() => false);
    }
  });

  test('commands.kill(pid) kills a command and returns false for an unknown pid', 90_000, async () => {
    const handle = await withTimeout(sbx.commands.run('sleep 302', { background: true }), CALL_MS, 'start');
    assert.equal(await withTimeout(sbx.commands.kill(handle.pid), CALL_MS, 'kill'), true);
    await waitFor(async () => !(await runningPids()).includes(handle.pid), 10_000, 'killed pid leaves the process list');
    assert.equal(await withTimeout(sbx.commands.kill(999_999), CALL_MS, 'kill unknown'), false);
  });

  test('commands.connect(pid) reattaches to a running command and receives its later output and exit', 90_000, async () => {
    const handle = await withTimeout(
      sbx.commands.run('for i in $(seq 1 8); do echo tick$i; sleep 0.5; done', { background: true }),
      CALL_MS,
      'start',
    );
    await sleep(1_200);
    await withTimeout(handle.disconnect(), CALL_MS, 'disconnect');
    const received: string[] = [];
    const reattached = await withTimeout(
      sbx.commands.connect(handle.pid, { onStdout: (data) => void received.push(data) }),
      CALL_MS,
      'connect',
    );
    assert.equal(reattached.pid, handle.pid);
    const result = await withTimeout(reattached.wait(), CALL_MS, 'wait');
    assert.equal(result.exitCode, 0);
    assert.match(received.join(''), /tick7\ntick8\n$/);
    await rejection(sbx.commands.connect(999_999), CALL_MS, 'connect to an unknown pid');
  });
});

describe('stdin and timeouts', () => {
  test('stdin: true accepts sendStdin and closeStdin delivers EOF', 90_000, async () => {
    const handle = await withTimeout(sbx.commands.run('cat', { background: true, stdin: true }), CALL_MS, 'start cat');
    await withTimeout(sbx.commands.sendStdin(handle.pid, 'first line\n'), CALL_MS, 'sendStdin');
    await withTimeout(handle.sendStdin('second line\n'), CALL_MS, 'handle.sendStdin');
    await sleep(300);
    assert.equal(handle.exitCode, undefined, 'cat must still be running before stdin is closed');
    await withTimeout(sbx.commands.closeStdin(handle.pid), CALL_MS, 'closeStdin');
    const result = await withTimeout(handle.wait(), CALL_MS, 'wait for cat');
    assert.equal(result.stdout, 'first line\nsecond line\n');
  });

  test('without stdin: true a command reading stdin sees EOF at once', 30_000, async () => {
    const result = await run(sbx, 'cat; echo after-cat', {}, 20_000);
    assert.equal(result.stdout, 'after-cat\n');
  });

  test('timeoutMs ends a long command with TimeoutError and the process is killed', 90_000, async () => {
    const startedAt = Date.now();
    const err = await rejection(sbx.commands.run('sleep 313', { timeoutMs: 2_000 }), 30_000, 'command past its timeout');
    assert.ok(err instanceof TimeoutError, `expected TimeoutError, got ${String(err)}`);
    assert.ok(Date.now() - startedAt < 15_000, `timed out only after ${Date.now() - startedAt} ms`);
    await waitFor(
      async () => (await run(sbx, 'ps -eo args | grep -c "sleep 31[3]" || true')).stdout.trim() === '0',
      15_000,
      'the timed-out process is gone',
    );
  });
});
