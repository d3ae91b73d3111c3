import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, rawFetch, rest, run, waitFor, withSandbox } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

type LogLine = Record<string, unknown> & { msg?: string; reqId?: string };

/** The daemon's JSON log lines (pino). */
const daemonLines = (): LogLine[] =>
  stack
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/** The agent's log lines of the sandbox as `GET /sandboxes/{id}/logs` serves them (its console log, fields as strings). */
async function agentLines(sandboxId: string): Promise<LogLine[]> {
  const res = await rest(stack, 'GET', `/sandboxes/${sandboxId}/logs`);
  assert.equal(res.status, 200, res.text.slice(0, 300));
  const entries = (res.json as { logEntries: Array<{ message: string; level: string; fields: Record<string, string> }> }).logEntries;
  return entries.map((e) => ({ ...e.fields, msg: e.message, level: e.level }));
}

describe('request ids through the daemon and the agent', () => {
  test('one SDK commands.run: the id of its Start stream is in the daemon log and in the agent log of that sandbox', 300_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'request-ids', run: RUN_ID } }),
      async (sbx) => {
        const started = daemonLines().length;
        assert.equal((await run(sbx, 'echo traced')).stdout, 'traced\n');
        const proxied = await waitFor(
          async () => daemonLines().slice(started).find((l) => l.msg === 'proxied request' && l['sandboxId'] === sbx.sandboxId && l['path'] === '/process.Process/Start'),
          CALL_MS,
          'the daemon logging the proxied Start',
        );
        const reqId = proxied.reqId!;
        assert.match(reqId, /^[0-9a-f-]{36}$/, 'a generated id (the SDK sends none)');
        assert.equal(proxied['status'], 200);
        const inAgent = await waitFor(
          async () => {
            const lines = (await agentLines(sbx.sandboxId)).filter((l) => l.reqId === reqId);
            return lines.some((l) => l.msg === 'request') && lines;
          },
          CALL_MS,
          `the agent logging request ${reqId}`,
          500,
        );
        const line = inAgent.find((l) => l.msg === 'request')!;
        assert.equal(line['path'], '/process.Process/Start');
        assert.equal(line['server'], 'envd');
        assert.equal(line['sandboxId'], sbx.sandboxId);
        assert.equal(line['level'], 'info');
      },
    );
  });

  test('a well-formed X-Request-Id is honoured (REST and proxy), any other is replaced; every answer carries the id', 300_000, async () => {
    const mine = `e2e-${RUN_ID}-rest`;
    const list = await rest(stack, 'GET', '/v2/sandboxes', { headers: { 'x-request-id': mine } });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-request-id'), mine);
    const bad = await rest(stack, 'GET', '/v2/sandboxes', { headers: { 'x-request-id': 'has spaces in it' } });
    assert.match(bad.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const denied = await rest(stack, 'GET', '/v2/sandboxes', { apiKey: null });
    assert.equal(denied.status, 401);
    assert.match(denied.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/, 'an error answer carries one too');
    const logged = daemonLines().find((l) => l.reqId === mine && l.msg === 'request');
    assert.equal(logged?.['route'], '/v2/sandboxes');

    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'request-ids', run: RUN_ID } }),
      async (sbx) => {
        const proxiedId = `e2e-${RUN_ID}-proxy`;
        const health = await rawFetch(`${stack.sandboxUrl}/health`, { headers: { 'e2b-sandbox-id': sbx.sandboxId, 'e2b-sandbox-port': '49983', 'x-request-id': proxiedId } });
        assert.equal(health.status, 204);
        assert.equal(health.headers.get('x-request-id'), proxiedId);
        const unknown = await rawFetch(`${stack.sandboxUrl}/health`, { headers: { 'e2b-sandbox-id': 'nosuchsandbox', 'e2b-sandbox-port': '49983' } });
        assert.equal(unknown.status, 502);
        assert.match(unknown.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
        await waitFor(async () => (await agentLines(sbx.sandboxId)).some((l) => l.reqId === proxiedId && l['path'] === '/health'), CALL_MS, 'the agent logging the client-chosen id', 500);
      },
    );
  });
});
