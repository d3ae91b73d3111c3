import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox, SandboxError, type SandboxOpts } from 'e2b';
import { CALL_MS, RUN_ID, assertE2bError, createSandbox, e2eTest, rejection, rest, withSandbox } from './helpers.js';
import { startStack, type Stack } from './stack.js';

// Issue 6, item 10: a create option sandboxd does not implement answers 400 naming it, through
// the official SDK's real wire format (e2b 2.51 `SandboxApi.createSandbox`), never a silent 201.

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

/** Ids of this run's sandboxes the daemon lists. */
async function runIds(): Promise<string[]> {
  const res = await rest(stack, 'GET', `/v2/sandboxes?limit=100&metadata=${encodeURIComponent(`run=${RUN_ID}`)}`);
  assert.equal(res.status, 200, res.text);
  return (res.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID);
}

/** `Sandbox.create` with `opts` rejects with the SDK's error for HTTP 400, its message matching `pattern`. */
async function assertCreateRejected(label: string, opts: SandboxOpts, pattern: RegExp): Promise<void> {
  const err = await rejection(Sandbox.create('base', { ...stack.sdk, metadata: { run: RUN_ID }, ...opts }), CALL_MS, label);
  assert.ok(err instanceof SandboxError, `${label}: expected SandboxError, got ${String(err)}`);
  assert.equal((err as SandboxError & { statusCode?: number }).statusCode, 400, `${label}: ${err.message}`);
  assert.match(err.message, /^400: /, label);
  assert.match(err.message, pattern, label);
}

describe('create options sandboxd does not implement', () => {
  // onTimeout 'pause', autoResume and keepMemory: false are implemented (pause.test.ts).
  test('network rules, egressProxy and httpsPorts are rejected by name', 60_000, async () => {
    await assertCreateRejected(
      'network.rules',
      { network: { rules: { 'api.example.com': [{ transform: { headers: { 'X-Api-Key': 'secret' } } }] } } },
      /network\.rules \(per-domain request transforms\) is not supported/,
    );
    await assertCreateRejected('network.egressProxy', { network: { egressProxy: { address: 'proxy.example.com:1080' } } }, /network\.egressProxy .*is not supported/);
    await assertCreateRejected('network.httpsPorts', { network: { httpsPorts: [3000] } }, /network\.httpsPorts .*is not supported/);
    assert.deepEqual(await runIds(), []);
  });

  test('volumeMounts and iam tokens are rejected by name', 60_000, async () => {
    await assertCreateRejected('volumeMounts', { volumeMounts: { '/data': 'my-volume' } }, /volumeMounts \(persistent volumes\) is not supported/);
    await assertCreateRejected(
      'iam',
      { iam: { tokens: { aws: { audience: 'sts.amazonaws.com', tokenType: 'JWT-SVID' } } } as SandboxOpts['iam'] },
      /iam\.tokens \(workload identity tokens\) is not supported/,
    );
    assert.deepEqual(await runIds(), []);
  });

  // As E2B's API: `mcp` is taken (E2B only records the server names) and the SDK starts
  // `mcp-gateway` in the sandbox itself; a template without it fails that start, and the SDK
  // kills the sandbox (E2B's own create.test "MCP gateway start failure kills the created sandbox").
  test('mcp is accepted; without an mcp-gateway in the template the SDK reports the failed start and the sandbox is gone', 120_000, async () => {
    const err = await rejection(
      Sandbox.create('base', { ...stack.sdk, metadata: { run: RUN_ID, purpose: 'mcp' }, mcp: { exa: { apiKey: 'x' } } as SandboxOpts['mcp'] }),
      CALL_MS * 2,
      'create with mcp',
    );
    assert.ok(err instanceof SandboxError, `expected SandboxError, got ${String(err)}`);
    assert.match(err.message, /^Failed to start MCP gateway: .*mcp-gateway/);
    assert.deepEqual(await runIds(), []);
  });

  test('the same rejections on the raw v1 route, in E2B error shape', 30_000, async () => {
    // keepMemory: false with autoResume (the SDK refuses it itself) and without autoPause.
    for (const extra of [{ autoPause: true, autoPauseMemory: false, autoResume: { enabled: true } }, { autoPauseMemory: false }, { volumeMounts: [{ name: 'v', path: '/data' }] }, { network: { rules: { 'a.example.com': [] } } }]) {
      const res = await rest(stack, 'POST', '/sandboxes', { body: JSON.stringify({ templateID: 'base', metadata: { run: RUN_ID }, ...extra }) });
      assertE2bError(res, 400);
    }
    assert.deepEqual(await runIds(), []);
  });
});

describe('timeouts E2B rejects', () => {
  test('Sandbox.create with timeoutMs 0 or negative is rejected ("timeout must be greater than 0")', 60_000, async () => {
    await assertCreateRejected('timeoutMs 0', { timeoutMs: 0 }, /timeout must be greater than 0/);
    await assertCreateRejected('timeoutMs -5000', { timeoutMs: -5000 }, /timeout must be greater than 0/);
    assert.deepEqual(await runIds(), []);
  });

  test("the defaults the SDK sends (onTimeout 'kill', autoResume false, no volumes) create a sandbox; negative set-timeout and connect are rejected", 240_000, async () => {
    await withSandbox(
      () => createSandbox(stack, { metadata: { run: RUN_ID }, lifecycle: { onTimeout: 'kill', autoResume: false }, volumeMounts: {}, timeoutMs: 120_000 }),
      async (sbx) => {
        const info = await sbx.getInfo();
        assert.deepEqual(info.lifecycle, { onTimeout: 'kill', autoResume: false });
        const setErr = await rejection(sbx.setTimeout(-1000), CALL_MS, 'setTimeout(-1000)');
        assert.match(String(setErr), /400: .*timeout must not be negative/);
        const connectErr = await rejection(Sandbox.connect(sbx.sandboxId, { ...stack.sdk, timeoutMs: -1000 }), CALL_MS, 'connect with timeoutMs -1000');
        assert.match(String(connectErr), /400: .*timeout must not be negative/);
        assert.equal(await sbx.isRunning(), true);
      },
    );
  });
});
