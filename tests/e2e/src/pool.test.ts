// The warm pool (SANDBOXD_POOL_SIZE) through the official SDKs: a claimed sandbox is
// indistinguishable from a cold one, pooled ones are invisible until claimed, and the pool
// refills, never leaks, and honours every create option.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Sandbox } from 'e2b';
import { assertNoError, createCodeSandbox, runCode, type CodeSandbox } from './code-helpers.js';
import { CALL_MS, createSandbox, e2eTest, rawFetch, rest, run, RUN_ID, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack | undefined;
const test = e2eTest(() => stack);
const CI = 'code-interpreter-v1';
/** A code-interpreter refill boots the kernels and imports numpy/pandas/matplotlib under gVisor. */
const REFILL_MS = 240_000;

before(async () => {
  stack = await startStack({ pool: `${CI}=1,base=1` });
});
after(async () => {
  await stack?.stop();
});

const st = (): Stack => {
  assert.ok(stack, 'stack not started');
  return stack;
};

/** `sandboxd_pool_sandboxes{template,state="ready"}` from the daemon's /metrics. */
async function poolReady(template: string): Promise<number> {
  const res = await rest(st(), 'GET', '/metrics');
  assert.equal(res.status, 200);
  const line = res.text.split('\n').find((l) => l.startsWith(`sandboxd_pool_sandboxes{template="${template}",state="ready"}`));
  return Number(line?.split(' ').pop() ?? 'NaN');
}
const waitReady = (template: string): Promise<true> => waitFor(async () => (await poolReady(template)) >= 1, REFILL_MS, `a ${template} sandbox pooled`, 200);

/**
 * Whether the daemon started `sandboxId` by claiming a pooled sandbox (its "sandbox started" log
 * line; the log is written asynchronously, so the line may follow the create's answer by a moment).
 */
async function claimed(sandboxId: string): Promise<boolean> {
  const found = await waitFor(
    async () => {
      for (const line of st().log().split('\n')) {
        if (line.includes(sandboxId) && line.includes('"sandbox started"')) return { pooled: (JSON.parse(line) as { pooled?: boolean }).pooled === true };
      }
      return undefined;
    },
    10_000,
    `the "sandbox started" line of ${sandboxId}`,
    50,
  );
  return found.pooled;
}

/** Ids of the sandboxes the pool made ready so far. */
const pooledIds = (): string[] =>
  st()
    .log()
    .split('\n')
    .filter((l) => l.includes('"pooled sandbox ready"'))
    .map((l) => (JSON.parse(l) as { sandboxId: string }).sandboxId);

const tokenOf = (sbx: Sandbox): string | undefined => (sbx as unknown as { envdAccessToken?: string }).envdAccessToken;

/** GET /envs of the sandbox's envd through the daemon's proxy. */
const envs = (sbx: Sandbox, token: string | undefined) =>
  rawFetch(`${st().apiUrl}/envs`, {
    headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', ...(token === undefined ? {} : { 'X-Access-Token': token }) },
  });

/** What a code-interpreter sandbox shows of its environment, its own id masked. */
async function environmentOf(sbx: CodeSandbox): Promise<Record<string, unknown>> {
  const mask = (text: string): string => text.replaceAll(sbx.sandboxId, '<id>');
  const shell = (await run(sbx, 'env | sort')).stdout;
  const py = assertNoError(await runCode(sbx, 'import os, json\nprint(json.dumps(dict(os.environ), sort_keys=True))'));
  const pyEnv = JSON.parse(py.logs.stdout.join('')) as Record<string, string>;
  const js = assertNoError(
    await runCode(sbx, 'console.log(JSON.stringify({ keys: Object.keys(process.env).sort(), v: process.env.POOL_E2E_VAR, s: process.env.POOL_E2E_SHARED }))', { language: 'js' }),
  );
  const envd = await envs(sbx, tokenOf(sbx));
  assert.equal(envd.status, 200, envd.text);
  return {
    shell: mask(shell)
      .split('\n')
      .filter((l) => !/^(SHLVL|_|OLDPWD)=/.test(l)),
    envs: envd.json,
    pythonKeys: Object.keys(pyEnv).filter((k) => !/^JPY_|PID/.test(k)),
    pythonVars: [pyEnv['POOL_E2E_VAR'], pyEnv['POOL_E2E_SHARED'], pyEnv['HOME'], pyEnv['USER']],
    js: JSON.parse(js.logs.stdout.join('')) as unknown,
  };
}

describe('warm pool (SANDBOXD_POOL_SIZE)', () => {
  test('pooled sandboxes are invisible to list and not counted as sandboxes', 600_000, async () => {
    await waitReady(CI);
    await waitReady('base');
    const listed = await withTimeout(Sandbox.list({ ...st().sdk }).nextItems(), CALL_MS, 'Sandbox.list');
    assert.deepEqual(listed, []);
    const metrics = (await rest(st(), 'GET', '/metrics')).text;
    assert.doesNotMatch(metrics, /^sandboxd_sandboxes\{state="running"/m, 'no user sandbox runs');
    assert.equal((await rest(st(), 'GET', `/sandboxes/${pooledIds()[0] ?? 'none'}`)).status, 404, 'a pooled sandbox is not found by id');
  });

  test('a claimed and a cold code-interpreter sandbox give the same environment (commands, /envs, os.environ, process.env)', 600_000, async () => {
    await waitReady(CI);
    const opts = { envs: { POOL_E2E_VAR: 'from-create', POOL_E2E_SHARED: 'x y=z' }, metadata: { suite: 'pool', run: RUN_ID }, secure: true };
    const warm = await createCodeSandbox(st(), opts);
    try {
      // The pool is refilling now: this create finds it empty and boots cold.
      const cold = await createCodeSandbox(st(), opts);
      try {
        assert.equal(await claimed(warm.sandboxId), true, 'the first create claims the pooled sandbox');
        assert.equal(await claimed(cold.sandboxId), false, 'the second one starts cold');
        const [a, b] = [await environmentOf(warm), await environmentOf(cold)];
        assert.deepEqual(a, b);
        assert.deepEqual(a['pythonVars'], ['from-create', 'x y=z', '/home/user', 'user']);
        assert.equal((a['js'] as { v: string }).v, 'from-create');
        assert.equal((a['envs'] as Record<string, string>)['POOL_E2E_VAR'], 'from-create');
        // A first cell in the warm sandbox is fast: the heavy imports were done in the pool.
        const started = Date.now();
        assertNoError(await runCode(warm, 'import pandas\n1+1'));
        assert.ok(Date.now() - started < 5_000, `import pandas took ${Date.now() - started} ms in a warmed kernel`);
      } finally {
        await cold.kill();
      }
    } finally {
      await warm.kill();
    }
  });

  test('a claimed secure sandbox enforces its own access token', 600_000, async () => {
    await waitReady(CI);
    await withSandbox(
      () => createCodeSandbox(st(), { secure: true, envs: { POOL_E2E_VAR: 'secret' } }),
      async (sbx) => {
        assert.equal(await claimed(sbx.sandboxId), true);
        const token = tokenOf(sbx);
        assert.ok(token, 'the create answered an envdAccessToken');
        assert.equal((await envs(sbx, undefined)).status, 401);
        assert.equal((await envs(sbx, 'wrong-token')).status, 401);
        assert.equal((await envs(sbx, token)).status, 200);
        const execute = await rawFetch(`${st().apiUrl}/execute`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49999' },
          body: JSON.stringify({ code: '1+1' }),
        });
        assert.equal(execute.status, 401, 'the code interpreter wants the token too');
        assert.equal(assertNoError(await runCode(sbx, '1+1')).text, '2');
        // The adopt route never opens with the sandbox's own token.
        const adopt = await rawFetch(`${st().apiUrl}/adopt`, {
          method: 'POST',
          headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', 'X-Access-Token': token, 'Content-Type': 'application/json' },
          body: JSON.stringify({ generation: 99, sandboxId: 'hijack', templateId: 'x', accessToken: null, envVars: {}, defaultUser: 'root' }),
        });
        assert.equal(adopt.status, 401);
        assert.equal((await envs(sbx, undefined)).status, 401, 'still secure');
      },
    );
  });

  test('a claimed sandbox with allowInternetAccess: false has no internet', 600_000, async () => {
    await waitReady('base');
    await withSandbox(
      () => createSandbox(st(), { allowInternetAccess: false, metadata: { suite: 'pool', run: RUN_ID } }),
      async (sbx) => {
        assert.equal(await claimed(sbx.sandboxId), true);
        const code = (await run(sbx, "curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time 8 http://deb.debian.org/debian/ || true")).stdout;
        assert.equal(code, '000');
        assert.equal((await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo')).allowInternetAccess, false);
      },
    );
  });

  test('a claimed sandbox is listed with its metadata, expires at its timeout, and the pool refills', 600_000, async () => {
    await waitReady('base');
    const sbx = await createSandbox(st(), { metadata: { suite: 'pool-expiry', run: RUN_ID }, timeoutMs: 5_000 });
    assert.equal(await claimed(sbx.sandboxId), true);
    const listed = await withTimeout(Sandbox.list({ ...st().sdk, query: { metadata: { suite: 'pool-expiry', run: RUN_ID } } }).nextItems(), CALL_MS, 'list');
    assert.deepEqual(
      listed.map((s) => [s.sandboxId, s.metadata]),
      [[sbx.sandboxId, { suite: 'pool-expiry', run: RUN_ID }]],
    );
    await waitFor(async () => !(await Sandbox.list({ ...st().sdk }).nextItems()).some((s) => s.sandboxId === sbx.sandboxId), 30_000, 'expiry');
    await waitReady('base');
  });

  // E2B's own snapshot-api and fork tests snapshot a sandbox moments after creating it. The adopt
  // request of a claim must leave no connection in the sandbox's netstack (runsc refuses to
  // checkpoint one, TIME_WAIT included), or a claimed sandbox cannot be snapshotted in its first minute.
  test('a claimed sandbox can be snapshotted right after the create', 600_000, async () => {
    await waitReady('base');
    const sbx = await createSandbox(st());
    try {
      assert.equal(await claimed(sbx.sandboxId), true);
      await withTimeout(sbx.files.write('/home/user/claimed.txt', 'claimed disk'), CALL_MS, 'write');
      const snapshot = await withTimeout(sbx.createSnapshot({ requestTimeoutMs: 170_000 }), 180_000, 'createSnapshot');
      assert.ok(snapshot.snapshotId.length > 0);
      assert.equal(await withTimeout(sbx.files.read('/home/user/claimed.txt'), CALL_MS, 'read'), 'claimed disk');
      assert.equal(await withTimeout(Sandbox.deleteSnapshot(snapshot.snapshotId, { ...st().sdk }), CALL_MS, 'deleteSnapshot'), true);
    } finally {
      await sbx.kill().catch(() => false);
    }
  });

  test('kill of a claimed sandbox ends it; pooled sandboxes do not outlive a daemon crash', 600_000, async () => {
    await waitReady('base');
    const sbx = await createSandbox(st());
    assert.equal(await claimed(sbx.sandboxId), true);
    assert.equal(await withTimeout(sbx.kill(), CALL_MS, 'kill'), true);
    assert.equal((await rest(st(), 'GET', `/sandboxes/${sbx.sandboxId}`)).status, 404);
    await waitReady('base');
    await waitReady(CI);
    const before = pooledIds();
    const dirs = (ids: string[]) => ids.filter((id) => existsSync(join(st().home, 'sandboxes', id)));
    assert.ok(dirs(before).length >= 2, 'the pooled sandboxes have their runtime state');
    await st().crash();
    await st().restart();
    await waitFor(async () => dirs(before).length === 0, 60_000, 'the previous daemon’s pooled sandboxes removed at start');
    await waitReady('base');
  });
});
