import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, SandboxNotFoundError, type SandboxInfo } from 'e2b';
import { CodeSandbox, assertNoError, createCodeSandbox, runCode } from './code-helpers.js';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, rejection, run, sleep, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

/** Seconds a paused sandbox stays in memory before the daemon checkpoints it to disk. */
const GRACE_SEC = 6;

let stack: Stack;
const test = e2eTest(() => stack);
const group = `pause-${RUN_ID}`;
/** The SDK's own bound of one create request (its default, 60 s, is less than a loaded machine needs). */
const slowCreate = { requestTimeoutMs: 170_000 };

before(async () => {
  // The disk tier is the default (no SANDBOXD_PAUSE_TO_DISK): this file checks that too.
  stack = await startStack({ env: { SANDBOXD_PAUSE_MEMORY_GRACE_SEC: String(GRACE_SEC), SANDBOXD_PAUSE_MIN_AVAILABLE_MB: '0' } });
});
after(async () => {
  await stack?.stop();
});

/** The daemon's log lines about one sandbox, parsed. */
function logOf(sandboxId: string): Array<{ msg: string; tier?: string; ms?: number }> {
  return stack
    .log()
    .split('\n')
    .filter((line) => line.includes(sandboxId))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg: string; tier?: string; ms?: number }];
      } catch {
        return [];
      }
    });
}

/** Resolves once the daemon has written the paused sandbox to disk. */
const onDisk = (sandboxId: string) =>
  waitFor(async () => logOf(sandboxId).some((l) => l.msg === 'paused sandbox checkpointed to disk'), GRACE_SEC * 1000 + 90_000, `${sandboxId} on disk`, 500);

/** The tier the last resume of the sandbox came from. */
const lastResumeTier = (sandboxId: string) => logOf(sandboxId).filter((l) => l.msg === 'sandbox resumed').at(-1)?.tier;

const info = (sandboxId: string) => withTimeout(Sandbox.getInfo(sandboxId, { ...stack.sdk }), CALL_MS, 'getInfo');

async function listed(state: Array<'running' | 'paused'>): Promise<string[]> {
  const paginator = Sandbox.list({ ...stack.sdk, query: { metadata: { group }, state } });
  const all: SandboxInfo[] = [];
  while (paginator.hasNext) all.push(...(await withTimeout(paginator.nextItems(), CALL_MS, 'list page')));
  return all.map((s) => s.sandboxId);
}

/** Starts a shell loop writing an increasing counter to `path` every 200 ms; returns its pid. */
async function startCounter(sbx: Sandbox, path: string): Promise<number> {
  const started = await run(sbx, `nohup sh -c 'i=0; while true; do i=$((i+1)); echo $i > ${path}; sleep 0.2; done' >/dev/null 2>&1 & echo $!`);
  return Number(started.stdout.trim());
}
const readCounter = async (sbx: Sandbox, path: string) => Number((await withTimeout(sbx.files.read(path), CALL_MS, 'read counter')).trim());

describe('pause and resume with memory', () => {
  let sbx: CodeSandbox;
  let counterPid = 0;

  before(async () => {
    sbx = await createCodeSandbox(stack, { ...slowCreate, metadata: { group, role: 'state' }, timeoutMs: 900_000 });
    // The first cell also waits for the kernel: a loaded machine needs more than one call's bound.
    assertNoError(await runCode(sbx, 'big = bytearray(20 * 1024 * 1024)\nx = 41\nf = open("/home/user/open.txt", "w+")\nf.write("hello")\nf.flush()', { timeoutMs: CALL_MS * 3 }, CALL_MS * 3));
    counterPid = await startCounter(sbx, '/tmp/counter');
    await waitFor(async () => (await readCounter(sbx, '/tmp/counter').catch(() => 0)) > 2, 30_000, 'counter running');
  });

  /** Python variables, the open file and the counter process are all as they were. */
  async function assertStateKept(word: string): Promise<void> {
    assert.equal(assertNoError(await runCode(sbx, 'x = x + 1\nx')).text, String(42 + ['memory', 'disk'].indexOf(word)));
    assert.equal(assertNoError(await runCode(sbx, `f.write(" ${word}")\nf.seek(0)\nf.read()`)).text?.includes(`hello`), true);
    assert.equal(assertNoError(await runCode(sbx, 'len(big)')).text, String(20 * 1024 * 1024));
    assert.equal((await run(sbx, `kill -0 ${counterPid} && echo alive`)).stdout, 'alive\n', `counter pid ${counterPid} gone`);
    const before = await readCounter(sbx, '/tmp/counter');
    await waitFor(async () => (await readCounter(sbx, '/tmp/counter')) > before, 15_000, 'the counter runs again after the resume');
  }

  test('pause → paused in info and list, pause again is false, counter stops; connect resumes from memory', 180_000, async () => {
    const counterBefore = await readCounter(sbx, '/tmp/counter');
    assert.equal(await withTimeout(sbx.pause(), CALL_MS, 'pause'), true);
    await sleep(2_000);
    assert.equal(await withTimeout(Sandbox.betaPause(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'betaPause of paused'), false);
    assert.equal((await info(sbx.sandboxId)).state, 'paused');
    assert.ok((await listed(['paused'])).includes(sbx.sandboxId));
    assert.ok(!(await listed(['running'])).includes(sbx.sandboxId));
    assert.ok((await listed(['running', 'paused'])).includes(sbx.sandboxId));
    const startedAt = Date.now();
    await withTimeout(CodeSandbox.connect(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'connect');
    console.error(`[e2e] resume from memory: ${Date.now() - startedAt} ms (client)`);
    assert.equal(lastResumeTier(sbx.sandboxId), 'memory');
    const counterAfter = await readCounter(sbx, '/tmp/counter');
    assert.ok(counterAfter - counterBefore < 6, `the counter ran while paused: ${counterBefore} → ${counterAfter} over 2 s paused`);
    assert.equal((await info(sbx.sandboxId)).state, 'running');
    await assertStateKept('memory');
  });

  test('a sandbox paused past the grace period is on disk and resumes from there with its state', 240_000, async () => {
    assert.equal(await withTimeout(Sandbox.pause(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'pause'), true);
    await onDisk(sbx.sandboxId);
    assert.equal((await info(sbx.sandboxId)).state, 'paused');
    const startedAt = Date.now();
    await withTimeout(CodeSandbox.connect(sbx.sandboxId, { ...stack.sdk, timeoutMs: 600_000 }), CALL_MS * 2, 'connect');
    console.error(`[e2e] resume from disk: ${Date.now() - startedAt} ms (client)`);
    assert.equal(lastResumeTier(sbx.sandboxId), 'disk');
    await assertStateKept('disk');
  });
});

describe('lifecycle and errors', () => {
  test("onTimeout 'pause' pauses at the end time; autoResume resumes it on traffic through the proxy", 180_000, async () => {
    // Long enough for the write below on a loaded machine: a pause in the middle of a request resets it.
    const sbx = await createSandbox(stack, { ...slowCreate, metadata: { group, role: 'auto' }, timeoutMs: 20_000, lifecycle: { onTimeout: 'pause', autoResume: true } });
    await withTimeout(sbx.files.write('/home/user/kept.txt', 'kept'), CALL_MS, 'write');
    const lifecycle = (await withTimeout(Sandbox.getInfo(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'getInfo')) as SandboxInfo & { lifecycle?: unknown };
    assert.equal(lifecycle.state, 'running');
    await waitFor(async () => (await info(sbx.sandboxId)).state === 'paused', 60_000, 'paused at timeout');
    // Traffic (envd through the proxy) resumes it.
    assert.equal(await withTimeout(sbx.files.read('/home/user/kept.txt'), CALL_MS, 'read resumes'), 'kept');
    const resumed = await info(sbx.sandboxId);
    assert.equal(resumed.state, 'running');
    // A resume by traffic gives the create timeout, at least 300 s (as E2B).
    assert.ok(resumed.endAt.getTime() - Date.now() > 250_000, `end time ${resumed.endAt.toISOString()}`);
    assert.equal((await run(sbx, 'echo back')).stdout, 'back\n');
    await withTimeout(sbx.kill(), CALL_MS, 'kill');
  });

  test('keepMemory: false stops the sandbox; connect boots it again with its files, id, token and env, but no process of before', 240_000, async () => {
    const sbx = await createSandbox(stack, { ...slowCreate, secure: true, envs: { KEPT_ENV: 'yes' }, metadata: { group, role: 'fs-only' } });
    await withTimeout(sbx.files.write('/home/user/fs-only.txt', 'on disk'), CALL_MS, 'write');
    const bootBefore = (await run(sbx, 'cat /proc/sys/kernel/random/boot_id')).stdout.trim();
    await withTimeout(sbx.commands.run('sleep 600', { background: true }), CALL_MS, 'background process');
    assert.equal(await withTimeout(sbx.pause({ keepMemory: false }), CALL_MS, 'pause without memory'), true);
    assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), false);
    assert.equal((await info(sbx.sandboxId)).state, 'paused');
    assert.equal(await withTimeout(sbx.pause({ keepMemory: false }), CALL_MS, 'pause again'), false);
    const back = await withTimeout(Sandbox.connect(sbx.sandboxId, { ...stack.sdk, ...slowCreate }), 170_000, 'connect boots again');
    assert.equal(back.sandboxId, sbx.sandboxId);
    // The same handle keeps working: the access token is the same after the new boot.
    assert.equal(await withTimeout(sbx.files.read('/home/user/fs-only.txt'), CALL_MS, 'read after boot'), 'on disk');
    assert.notEqual((await run(sbx, 'cat /proc/sys/kernel/random/boot_id')).stdout.trim(), bootBefore, 'a new boot, not a restore');
    assert.equal((await run(sbx, 'echo $KEPT_ENV')).stdout, 'yes\n');
    assert.equal((await run(sbx, 'pgrep -x sleep || true')).stdout, '', 'no process survives a filesystem-only pause');
    await withTimeout(sbx.kill(), CALL_MS, 'kill');
  });

  test('kill of a paused sandbox removes it', 120_000, async () => {
    const sbx = await createSandbox(stack, { ...slowCreate, metadata: { group, role: 'kill' } });
    assert.equal(await withTimeout(sbx.pause(), CALL_MS, 'pause'), true);
    assert.equal(await withTimeout(Sandbox.kill(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'kill'), true);
    const err = await rejection(Sandbox.getInfo(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'getInfo after kill');
    assert.ok(err instanceof SandboxNotFoundError, String(err));
    assert.ok(!(await listed(['running', 'paused'])).includes(sbx.sandboxId));
  });

  test('connect (resume) and pause of an unknown sandbox reject with SandboxNotFoundError', 60_000, async () => {
    const unknown = 'iunknownpaused0000000';
    const connected = await rejection(Sandbox.connect(unknown, { ...stack.sdk }), CALL_MS, 'connect unknown');
    assert.ok(connected instanceof SandboxNotFoundError, String(connected));
    const paused = await rejection(Sandbox.pause(unknown, { ...stack.sdk }), CALL_MS, 'pause unknown');
    assert.ok(paused instanceof SandboxNotFoundError, String(paused));
  });
});

describe('paused sandboxes survive a daemon SIGKILL', () => {
  test('one paused in memory and one on disk resume after the restart with files and processes', 300_000, async () => {
    const inMemory = await createSandbox(stack, { ...slowCreate, metadata: { group, role: 'crash-memory' }, timeoutMs: 900_000 });
    const onDiskSbx = await createSandbox(stack, { ...slowCreate, metadata: { group, role: 'crash-disk' }, timeoutMs: 900_000 });
    const pids = new Map<string, number>();
    for (const sbx of [inMemory, onDiskSbx]) {
      await withTimeout(sbx.files.write('/home/user/before.txt', sbx.sandboxId), CALL_MS, 'write');
      pids.set(sbx.sandboxId, await startCounter(sbx, '/tmp/c'));
    }
    assert.equal(await withTimeout(onDiskSbx.pause(), CALL_MS, 'pause disk one'), true);
    await onDisk(onDiskSbx.sandboxId);
    assert.equal(await withTimeout(inMemory.pause(), CALL_MS, 'pause memory one'), true);
    await stack.crash();
    await stack.restart();
    for (const sbx of [inMemory, onDiskSbx]) {
      assert.equal((await info(sbx.sandboxId)).state, 'paused', `${sbx.sandboxId} paused after the restart`);
    }
    for (const sbx of [inMemory, onDiskSbx]) {
      await withTimeout(Sandbox.connect(sbx.sandboxId, { ...stack.sdk }), CALL_MS * 2, 'connect after restart');
      assert.equal(await withTimeout(sbx.files.read('/home/user/before.txt'), CALL_MS, 'read'), sbx.sandboxId);
      assert.equal((await run(sbx, `kill -0 ${pids.get(sbx.sandboxId)} && echo alive`)).stdout, 'alive\n', `${sbx.sandboxId}: counter gone`);
      const first = await readCounter(sbx, '/tmp/c');
      await waitFor(async () => (await readCounter(sbx, '/tmp/c')) > first, 15_000, `${sbx.sandboxId}: counter runs`);
      await withTimeout(sbx.kill(), CALL_MS, 'kill');
    }
  });
});
