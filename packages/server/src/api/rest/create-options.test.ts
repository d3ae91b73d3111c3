import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { fakeRuntimesClosedAfter } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';
import { connectSchema, newSandboxSchema, timeoutRequestSchema } from './schemas.js';

const newRuntime = fakeRuntimesClosedAfter(after);

function setup() {
  const runtime = newRuntime();
  const db = openDatabase(':memory:');
  const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });
  const app = createApp({ sandboxes, apiKeys: createApiKeyStore(db, TEST_API_KEY), logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600 });
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  return { call, runtime };
}

/** 400 with E2B's body `{code: 400, message}`, the message matching `pattern`. */
async function assertRejected(res: Response, pattern: RegExp): Promise<void> {
  const body = (await res.json()) as { code: unknown; message: unknown };
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.equal(body.code, 400);
  assert.equal(typeof body.message, 'string');
  assert.match(body.message as string, pattern);
}

/**
 * What the official SDK (e2b 2.51, `SandboxApi.createSandbox`) puts on the wire for each option
 * sandboxd does not implement, and the word the 400 must name.
 */
const UNSUPPORTED: Array<[string, Record<string, unknown>, RegExp]> = [
  ["keepMemory: false with autoResume (the SDK refuses it too)", { autoPause: true, autoPauseMemory: false, autoResume: { enabled: true } }, /cannot be combined with autoPauseMemory: false/],
  ['autoResume without autoPause', { autoResume: { enabled: true } }, /autoResume .*requires autoPause: true/],
  ['autoPauseMemory: false alone (E2B: only with autoPause)', { autoPauseMemory: false }, /autoPauseMemory: false/],
  ['volumeMounts', { volumeMounts: [{ name: 'vol', path: '/data' }] }, /volumeMounts \(persistent volumes\) is not supported/],
  ['iam.tokens', { iam: { tokens: { gcp: { audience: 'a', tokenType: 'JWT-SVID' } } } }, /iam\.tokens \(workload identity tokens\) is not supported/],
  ['network.rules', { network: { rules: { 'api.example.com': [{ transform: { headers: { 'x-k': 'v' } } }] } } }, /network\.rules \(per-domain request transforms\) is not supported/],
  ['network.egressProxy', { network: { egressProxy: { address: 'proxy.example.com:1080' } } }, /network\.egressProxy .*is not supported/],
  ['network.httpsPorts', { network: { httpsPorts: [3000] } }, /network\.httpsPorts \(HTTPS to sandbox ports\) is not supported/],
];

describe('create options sandboxd does not implement answer 400 naming them', () => {
  for (const [what, fields, pattern] of UNSUPPORTED) {
    it(what, async () => {
      const { call, runtime } = setup();
      for (const path of ['/v2/sandboxes', '/sandboxes']) {
        await assertRejected(await call('POST', path, { templateID: 'base', ...fields }), pattern);
      }
      assert.equal(runtime.sandboxes.size, 0, 'nothing was created');
    });
  }

  it('wrong types of those options are 400 too', async () => {
    const { call } = setup();
    await assertRejected(await call('POST', '/v2/sandboxes', { templateID: 'base', autoPause: 'yes' }), /autoPause must be a boolean/);
    await assertRejected(await call('POST', '/v2/sandboxes', { templateID: 'base', autoResume: {} }), /autoResume\.enabled must be a boolean/);
    await assertRejected(await call('POST', '/v2/sandboxes', { templateID: 'base', volumeMounts: {} }), /volumeMounts must be an array/);
    await assertRejected(await call('POST', '/v2/sandboxes', { templateID: 'base', mcp: ['exa'] }), /mcp must be an object/);
    await assertRejected(await call('POST', '/v2/sandboxes', { templateID: 'base', network: { rules: [] } }), /network\.rules must be an object/);
  });

  it('values that ask for nothing sandboxd does not do are accepted (what the SDK sends for the defaults)', async () => {
    const { call, runtime } = setup();
    const accepted = [
      { autoPause: false }, // lifecycle: { onTimeout: 'kill' }
      { autoPause: false, autoResume: { enabled: false } }, // lifecycle: { onTimeout: 'kill', autoResume: false }
      { autoPauseMemory: true },
      { volumeMounts: [] }, // volumeMounts: {}
      { iam: {} },
      { iam: { tokens: {} } },
      { mcp: null },
      { mcp: { exa: { apiKey: 'x' } } }, // E2B records the names; the SDK starts the gateway itself
      { network: { rules: {}, httpsPorts: [], allowPublicTraffic: true, egressProxy: null } },
    ];
    for (const fields of accepted) {
      const res = await call('POST', '/v2/sandboxes', { templateID: 'base', ...fields });
      assert.equal(res.status, 201, `${JSON.stringify(fields)}: ${await res.text()}`);
    }
    assert.equal(runtime.sandboxes.size, accepted.length);
  });

  it('unknown fields no SDK sends stay tolerated', async () => {
    const { call } = setup();
    assert.equal((await call('POST', '/v2/sandboxes', { templateID: 'base', somethingElse: 1, network: { other: true } })).status, 201);
  });
});

describe('timeout values E2B rejects', () => {
  it('create: 0 and negative answer "timeout must be greater than 0", over the maximum and fractions too', async () => {
    const { call, runtime } = setup();
    for (const path of ['/v2/sandboxes', '/sandboxes']) {
      await assertRejected(await call('POST', path, { templateID: 'base', timeout: 0 }), /timeout: timeout must be greater than 0/);
      await assertRejected(await call('POST', path, { templateID: 'base', timeout: -1 }), /timeout must be greater than 0/);
      await assertRejected(await call('POST', path, { templateID: 'base', timeout: 3601 }), /at most 3600/);
      await assertRejected(await call('POST', path, { templateID: 'base', timeout: 0.5 }), /whole number/);
      await assertRejected(await call('POST', path, { templateID: 'base', timeout: null }), /timeout/);
    }
    assert.equal(runtime.sandboxes.size, 0);
    assert.equal((await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 1 })).status, 201);
  });

  it('set-timeout: required, 0 allowed (E2B: minimum 0), negative rejected', async () => {
    const { call } = setup();
    const { sandboxID } = (await (await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 600 })).json()) as { sandboxID: string };
    await assertRejected(await call('POST', `/sandboxes/${sandboxID}/timeout`, {}), /timeout/);
    await assertRejected(await call('POST', `/sandboxes/${sandboxID}/timeout`, { timeout: -1 }), /timeout must not be negative/);
    await assertRejected(await call('POST', `/sandboxes/${sandboxID}/timeout`, { timeout: '5' }), /timeout/);
  });

  it('connect: negative and wrong types rejected, memory must be a boolean', async () => {
    const { call } = setup();
    const { sandboxID } = (await (await call('POST', '/v2/sandboxes', { templateID: 'base', timeout: 600 })).json()) as { sandboxID: string };
    await assertRejected(await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: -1 }), /timeout must not be negative/);
    await assertRejected(await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: 3601 }), /at most 3600/);
    await assertRejected(await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { memory: 'no' }), /memory must be a boolean/);
    assert.equal((await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { timeout: 0 })).status, 200);
    assert.equal((await call('POST', `/v2/sandboxes/${sandboxID}/connect`, { memory: false })).status, 200);
    assert.equal((await call('POST', `/v2/sandboxes/${sandboxID}/connect`, {})).status, 200);
  });
});

describe('schemas', () => {
  it('create timeout is 1..max; set-timeout and connect allow 0', () => {
    assert.equal(newSandboxSchema(60).safeParse({ templateID: 'b', timeout: 0 }).success, false);
    assert.equal(newSandboxSchema(60).safeParse({ templateID: 'b', timeout: 60 }).success, true);
    assert.equal(timeoutRequestSchema(60).safeParse({ timeout: 0 }).success, true);
    assert.equal(connectSchema(60).safeParse({ timeout: 0 }).success, true);
  });
});
