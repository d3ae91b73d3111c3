import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { after, before, describe } from 'node:test';
import { ALL_TRAFFIC, Sandbox, SandboxNotFoundError } from 'e2b';
import { CALL_MS, RUN_ID, assertE2bError, createSandbox, e2eTest, rest, run, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});
after(async () => {
  await stack?.stop();
});

/** The only external address reachable in the test environment (see network.test.ts). */
const DEBIAN = 'http://deb.debian.org/debian/';

/** The HTTP status curl got inside (`000`: no HTTP answer); `pin` connects to that address. */
async function status(sbx: Sandbox, url: string, maxTimeSec: number, pin?: string): Promise<string> {
  const host = new URL(url).hostname;
  const resolve = pin === undefined ? '' : `--resolve ${host}:80:${pin} `;
  const cmd = `curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 5 --max-time ${maxTimeSec} ${resolve}'${url}' || true`;
  return (await run(sbx, cmd)).stdout;
}

async function debianIps(): Promise<string[]> {
  const ips = (await lookup('deb.debian.org', { all: true, family: 4 })).map((a) => a.address);
  assert.ok(ips.length > 0, 'deb.debian.org has no IPv4 address on the host');
  return ips;
}

describe('network update of a running sandbox (Sandbox.updateNetwork, PUT /sandboxes/{id}/network)', () => {
  test('open → denyOut 0.0.0.0/0 blocks → allowOut reopens one destination → the policy survives a daemon restart', 420_000, async () => {
    const ips = await debianIps();
    const sbx = await createSandbox(stack, { metadata: { suite: 'network-update', run: RUN_ID }, timeoutMs: 900_000 });
    try {
      assert.equal(await status(sbx, DEBIAN, 25), '200', 'the default policy reaches deb.debian.org');

      await withTimeout(sbx.updateNetwork({ denyOut: [ALL_TRAFFIC] }), CALL_MS, 'updateNetwork deny all');
      assert.equal(await status(sbx, DEBIAN, 10), '000', 'denyOut 0.0.0.0/0 blocks deb.debian.org');
      assert.equal(await status(sbx, DEBIAN, 10, ips[0]), '000', 'denyOut 0.0.0.0/0 blocks its address too');
      let info = await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo');
      assert.deepEqual(info.network?.denyOut, [ALL_TRAFFIC]);
      assert.deepEqual(info.network?.allowOut ?? [], []);

      await withTimeout(sbx.updateNetwork({ denyOut: [ALL_TRAFFIC], allowOut: ips }), CALL_MS, 'updateNetwork allow debian');
      assert.equal(await status(sbx, DEBIAN, 25, ips[0]), '200', 'allowOut takes precedence: deb.debian.org answers again');
      // Anything else stays denied (TEST-NET-2).
      assert.equal(await status(sbx, 'http://198.51.100.7/', 8), '000');

      // Back to "everything denied" and restart: if adoption re-applied the create-time policy
      // (open), deb.debian.org would answer; it must not.
      await withTimeout(sbx.updateNetwork({ denyOut: [ALL_TRAFFIC] }), CALL_MS, 'updateNetwork deny all again');
      assert.equal(await status(sbx, DEBIAN, 10, ips[0]), '000');
      await stack.crash();
      await stack.restart();
      assert.equal((await run(sbx, 'echo adopted')).stdout, 'adopted\n');
      assert.equal(await status(sbx, DEBIAN, 10, ips[0]), '000', 'after the restart the updated policy (deny all) is in force');
      info = await withTimeout(Sandbox.getInfo(sbx.sandboxId, { ...stack.sdk }), CALL_MS, 'getInfo after restart');
      assert.deepEqual(info.network?.denyOut, [ALL_TRAFFIC]);

      // Updates keep working on the adopted sandbox (static form of the SDK call).
      await withTimeout(Sandbox.updateNetwork(sbx.sandboxId, { denyOut: [ALL_TRAFFIC], allowOut: ips }, { ...stack.sdk }), CALL_MS, 'Sandbox.updateNetwork');
      assert.equal(await status(sbx, DEBIAN, 25, ips[0]), '200', 'allowOut after the restart');
      // {} clears everything: the default (open) policy again.
      await withTimeout(sbx.updateNetwork({}), CALL_MS, 'updateNetwork {}');
      assert.equal(await status(sbx, DEBIAN, 25), '200', 'an empty update restores open egress');
      info = await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo after clearing');
      assert.deepEqual(info.network?.denyOut ?? [], []);
      assert.equal(info.allowInternetAccess, true);
    } finally {
      await withTimeout(sbx.kill(), CALL_MS, 'kill').catch((err: unknown) => console.error(`[e2e] could not kill ${sbx.sandboxId}: ${String(err)}`));
    }
  });

  test('allowInternetAccess: false in an update cuts egress except allowOut', 240_000, async () => {
    const ips = await debianIps();
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'network-update', run: RUN_ID } }),
      async (sbx) => {
        await withTimeout(sbx.updateNetwork({ allowInternetAccess: false }), CALL_MS, 'updateNetwork internet off');
        assert.equal(await status(sbx, DEBIAN, 10, ips[0]), '000');
        assert.equal((await withTimeout(sbx.getInfo(), CALL_MS, 'getInfo')).allowInternetAccess, false);
        await withTimeout(sbx.updateNetwork({ allowInternetAccess: false, allowOut: ips }), CALL_MS, 'updateNetwork internet off + allowOut');
        assert.equal(await status(sbx, DEBIAN, 25, ips[0]), '200');
      },
    );
  });

  test('invalid updates are refused with 400 and change nothing; unknown sandboxes are 404 in E2B shape', 180_000, async () => {
    const ips = await debianIps();
    await withSandbox(
      () => createSandbox(stack, { metadata: { suite: 'network-update', run: RUN_ID }, network: { denyOut: [ALL_TRAFFIC], allowOut: ips } }),
      async (sbx) => {
        await assert.rejects(
          withTimeout(sbx.updateNetwork({ allowOut: ['not a name'], denyOut: [ALL_TRAFFIC] }), CALL_MS, 'updateNetwork bad entry'),
          /must be an IP address, a CIDR/,
        );
        const bad = await rest(stack, 'PUT', `/sandboxes/${sbx.sandboxId}/network`, { body: JSON.stringify({ denyOut: ['10.0.0.0/33'] }) });
        assertE2bError(bad, 400);
        assert.equal(await status(sbx, DEBIAN, 25, ips[0]), '200', 'the policy from create is still in force');
        assert.equal(await status(sbx, 'http://198.51.100.7/', 8), '000');

        const ok = await rest(stack, 'PUT', `/sandboxes/${sbx.sandboxId}/network`, { body: JSON.stringify({ denyOut: [ALL_TRAFFIC] }) });
        assert.equal(ok.status, 204, ok.text);
        assert.equal(ok.text, '');
      },
    );
    await assert.rejects(
      withTimeout(Sandbox.updateNetwork('unknownsandbox000000', { denyOut: [ALL_TRAFFIC] }, { ...stack.sdk }), CALL_MS, 'updateNetwork unknown'),
      SandboxNotFoundError,
    );
    assertE2bError(await rest(stack, 'PUT', '/sandboxes/unknownsandbox000000/network', { body: '{}' }), 404);
  });
});
