import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, type SandboxInfo } from 'e2b';
import { CALL_MS, RUN_ID, assertE2bError, createSandbox, e2eTest, rawFetch, rest, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

// E2B REST parity (issue 10): /health, /sandboxes/{id}/refreshes, inclusive startedAfter.

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

describe('REST parity with E2B', () => {
  test('GET /health answers 204 with no body and needs no API key', 60_000, async () => {
    const res = await rawFetch(`${stack.apiUrl}/health`);
    assert.equal(res.status, 204, res.text);
    assert.equal(res.text, '');
    assertE2bError(await rest(stack, 'GET', '/v2/sandboxes', { apiKey: null }), 401);
  });

  test('refreshes extends the end time to now + duration and never shortens it', 180_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'rest-parity', run: RUN_ID }, timeoutMs: 60_000 }),
      async (sbx) => {
        const endAt = async () => (await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo')).endAt.getTime();
        const refresh = (body: string) => rest(stack, 'POST', `/sandboxes/${sbx.sandboxId}/refreshes`, { body });

        const res = await refresh(JSON.stringify({ duration: 600 }));
        assert.equal(res.status, 204, res.text);
        assert.equal(res.text, '');
        const extended = await endAt();
        const ahead = extended - Date.now();
        assert.ok(ahead > 590_000 && ahead <= 601_000, `endAt is ${ahead} ms away after a 600 s refresh`);

        assert.equal((await refresh(JSON.stringify({ duration: 30 }))).status, 204);
        assert.equal(await endAt(), extended, 'a shorter refresh must not shorten');
        assertE2bError(await refresh(JSON.stringify({ duration: 3601 })), 400);
        assertE2bError(await rest(stack, 'POST', '/sandboxes/inotthere000000000000/refreshes', { body: '{"duration":60}' }), 404);
        assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), true);
      },
    );
  });

  test('Sandbox.list startedAfter includes a sandbox started exactly then', 180_000, async () => {
    const metadata = { suite: 'rest-parity', run: RUN_ID, purpose: 'startedAfter' };
    await withSandbox(
      () => createSandbox(stack, { metadata, timeoutMs: 120_000 }),
      async (sbx) => {
        const info = await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo');
        const list = async (startedAfter: Date): Promise<SandboxInfo[]> => {
          const paginator = Sandbox.list({ ...stack.sdk, query: { metadata, startedAfter } });
          const all: SandboxInfo[] = [];
          while (paginator.hasNext) all.push(...(await withTimeout(paginator.nextItems(), CALL_MS, 'Sandbox.list page')));
          return all;
        };
        assert.deepEqual((await list(info.startedAt)).map((s) => s.sandboxId), [sbx.sandboxId]);
        assert.deepEqual(await list(new Date(info.startedAt.getTime() + 1)), []);
      },
    );
  });

  test('sandbox logs say what ran, as whom, and why a process failed', 180_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'rest-parity', run: RUN_ID } }),
      async (sbx) => {
        await sbx.commands.run('echo fine', { cwd: '/tmp' });
        await sbx.commands.run('echo "cannot open config.yaml" >&2; exit 3').catch(() => undefined);
        const res = await rest(stack, 'GET', `/v2/sandboxes/${sbx.sandboxId}/logs?limit=1000`);
        assert.equal(res.status, 200, res.text);
        const logs = (res.json as { logs: Array<{ level: string; message: string; fields: Record<string, string> }> }).logs;
        const started = logs.find((l) => l.message === 'process started' && l.fields['cmd']?.includes('echo fine'));
        assert.ok(started, `a start entry for the first command in ${JSON.stringify(logs.map((l) => l.message))}`);
        assert.equal(started.fields['user'], 'user');
        assert.equal(started.fields['cwd'], '/tmp');
        const failed = logs.find((l) => l.message === 'process failed');
        assert.ok(failed, 'the failed command has its own entry');
        assert.equal(failed.level, 'warn');
        assert.equal(failed.fields['exitCode'], '3');
        assert.match(failed.fields['outputTail'] ?? '', /cannot open config\.yaml/);
        assert.ok(logs.some((l) => l.message === 'process ended' && l.level === 'info'), 'a successful command ends at info level');
      },
    );
  });
});
