import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Sandbox } from 'e2b';
import { CALL_MS, createSandbox, e2eTest, rawFetch, rejection, sentryPid, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

async function listedIds(): Promise<string[]> {
  const res = await rawFetch(`${stack.apiUrl}/v2/sandboxes?limit=100`, { headers: { 'X-API-KEY': stack.apiKey } });
  return (res.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID);
}

describe('liveness: a sandbox whose gVisor processes die is reported dead at once', () => {
  test('killed from the host: leaves the list within a second, its in-flight stream fails, calls answer 404', 120_000, async () => {
    const sandbox = await createSandbox(stack);
    const inFlight = sandbox.commands.run('sleep 120', { timeoutMs: 180_000 });
    inFlight.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    const killedAt = Date.now();
    process.kill(sentryPid(stack, sandbox.sandboxId), 'SIGKILL');

    await waitFor(async () => !(await listedIds()).includes(sandbox.sandboxId), 5_000, 'sandbox leaves the list', 50);
    const noticedMs = Date.now() - killedAt;
    assert.ok(noticedMs < 1_500, `noticed after ${noticedMs} ms`);

    const streamError = await rejection(inFlight, 5_000, 'in-flight command');
    assert.ok(Date.now() - killedAt < 6_000, 'the in-flight command failed promptly');
    assert.ok(streamError instanceof Error);

    const info = await rawFetch(`${stack.apiUrl}/sandboxes/${sandbox.sandboxId}`, { headers: { 'X-API-KEY': stack.apiKey } });
    assert.equal(info.status, 404);
    const started = Date.now();
    await rejection(withTimeout(sandbox.commands.run('echo hi', { requestTimeoutMs: 30_000 }), CALL_MS, 'call to a dead sandbox'), CALL_MS, 'dead call');
    assert.ok(Date.now() - started < 5_000, 'a call to the dead sandbox fails at once instead of hanging');
    assert.match(stack.log(), new RegExp(`"sandboxId":"${sandbox.sandboxId}"[^\\n]*sandbox died`));
  });

  test('the sandbox ends itself from inside (PID 1 exits): reported dead, everything it held is cleaned up', 120_000, async () => {
    const sandbox = await createSandbox(stack);
    await sandbox.commands.run('kill -9 1 || kill -TERM 1', { user: 'root', timeoutMs: 10_000 }).catch(() => undefined);
    await waitFor(async () => !(await listedIds()).includes(sandbox.sandboxId), 5_000, 'sandbox leaves the list', 50);
    await waitFor(async () => {
      const left = execFileSync('ls', [join(stack.home, 'sandboxes')], { encoding: 'utf8' });
      return !left.includes(sandbox.sandboxId);
    }, 15_000, 'sandbox files cleaned up');
    assert.equal(await Sandbox.connect(sandbox.sandboxId, stack.sdk).then(() => 'connected', () => 'refused'), 'refused');
  });
});
