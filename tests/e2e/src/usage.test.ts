import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { Sandbox } from '@e2b/code-interpreter';
import { Sandbox as CoreSandbox } from 'e2b';
import { describeExecution } from './code-helpers.js';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, rest, run, waitFor, withSandbox } from './helpers.js';
import { createKey, sandboxdCli, type CreatedKey } from './keys-cli.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);
let metered: CreatedKey;
let sbx: Sandbox | undefined;

interface Usage {
  keyId: string | null;
  keyName: string | null;
  sandboxes: number;
  sandboxSeconds: number;
  cpuSeconds: number;
  memoryGiBSeconds: number;
  executions: number;
  egressBytes: number;
  ingressBytes: number;
}

before(async () => {
  stack = await startStack();
  metered = await createKey(stack, 'metered', ['--scope', 'sandboxes:create,sandboxes:use,sandboxes:read']);
});
after(async () => {
  if (sbx) await withTimeout(sbx.kill(), CALL_MS, 'kill').catch(() => undefined);
  await stack?.stop();
});

/** GET /usage with `apiKey`; the row of `keyId`. */
async function usageOf(apiKey: string, keyId: string): Promise<Usage | undefined> {
  const res = await rest(stack, 'GET', '/usage', { apiKey });
  assert.equal(res.status, 200, res.text);
  return (res.json as { usage: Usage[] }).usage.find((u) => u.keyId === keyId);
}

const fields = ['sandboxSeconds', 'cpuSeconds', 'memoryGiBSeconds', 'executions', 'egressBytes', 'ingressBytes'] as const;

describe('usage metering per API key', () => {
  let measured: Usage;

  test('running code and commands for a few seconds and a download show up as the key\'s usage', 600_000, async () => {
    sbx = await withTimeout(Sandbox.create({ ...stack.sdk, apiKey: metered.key, metadata: { suite: 'usage', run: RUN_ID }, requestTimeoutMs: CREATE_MS }), CREATE_MS, 'Sandbox.create');
    // An execution the proxy forwarded counts whatever its outcome; on a very busy host the
    // kernel may not start within the agent's 60 s (KernelStartFailed), which is still one.
    const code = await withTimeout(sbx.runCode('sum(range(10))', { timeoutMs: CREATE_MS, requestTimeoutMs: CREATE_MS }), CREATE_MS, 'runCode (the kernel may still be starting)');
    if (code.error?.name === 'KernelStartFailed') console.error(`[e2e] usage: the kernel did not start (${code.error.value}); the execution still counts`);
    else assert.equal(code.text, '45', describeExecution(code));
    // About three seconds of one busy CPU.
    await run(sbx, "timeout 3 sh -c 'while :; do :; done' || true");
    const status = await run(sbx, "curl -sS -o /dev/null -w '%{http_code} %{size_download}' --connect-timeout 5 --max-time 25 http://deb.debian.org/debian/dists/trixie/Release || true");
    const [httpCode, size] = status.stdout.split(' ');
    assert.equal(httpCode, '200');
    // The download is metered as ingress: at least its body's bytes came in from the network.
    const downloaded = Number(size);
    assert.ok(downloaded > 10_000, status.stdout);
    // The sampler reads every 5 s: wait for a sample after the work.
    measured = await waitFor(
      async () => {
        const u = await usageOf(metered.key, metered.id);
        return u && u.cpuSeconds >= 2 && u.egressBytes > 0 && u.ingressBytes >= downloaded && u.executions >= 3 ? u : undefined;
      },
      30_000,
      'usage with CPU, egress, the download as ingress and executions',
      1000,
    );
    assert.ok(measured.sandboxSeconds > 3, JSON.stringify(measured));
    assert.ok(measured.memoryGiBSeconds > 0, JSON.stringify(measured));
    assert.equal(measured.sandboxes, 1);
    assert.equal(measured.keyName, 'metered');
    console.error(`[e2e] usage of ${metered.id}: ${JSON.stringify(measured)}`);
  });

  test('sandboxd usage prints it (table and --json); admin sees every key, others only their own', 60_000, async () => {
    const json = await sandboxdCli(stack, ['usage', '--since', '1h', '--json'], metered.key);
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as { usage: Usage[] };
    assert.deepEqual(answer.usage.map((u) => u.keyId), [metered.id]);
    const table = await sandboxdCli(stack, ['usage'], stack.apiKey);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^${metered.id}\\s+metered\\s+1\\s+`, 'm'));
    const other = await rest(stack, 'GET', `/usage?keyId=key_configured`, { apiKey: metered.key });
    assert.equal(other.status, 403);
    assert.ok(await usageOf(stack.apiKey, metered.id), 'admin sees the key');
    // A range that ended before the sandbox started holds nothing.
    const early = await rest(stack, 'GET', '/usage?start=0&end=86400', { apiKey: metered.key });
    assert.deepEqual((early.json as { usage: Usage[] }).usage, []);
  });

  test('the usage survives a daemon crash and restart, and keeps accruing for the adopted sandbox', 240_000, async () => {
    const before = await usageOf(metered.key, metered.id);
    assert.ok(before);
    await stack.crash();
    await stack.restart();
    const afterRestart = await usageOf(metered.key, metered.id);
    assert.ok(afterRestart, 'usage is gone after the restart');
    for (const f of fields) assert.ok(afterRestart[f] >= before[f], `${f}: ${afterRestart[f]} < ${before[f]}`);
    assert.equal((await run(sbx!, 'echo after-restart')).stdout, 'after-restart\n');
    const grown = await waitFor(
      async () => {
        const u = await usageOf(metered.key, metered.id);
        return u && u.sandboxSeconds > before.sandboxSeconds + 2 && u.executions > before.executions ? u : undefined;
      },
      30_000,
      'usage accruing after the restart',
      1000,
    );
    assert.ok(grown.cpuSeconds >= before.cpuSeconds);
  });
  test('egress and downloads relayed by the domain filter (allowOut names only) are counted too', 300_000, async () => {
    const relayKey = await createKey(stack, 'relay', ['--scope', 'sandboxes:create,sandboxes:use,sandboxes:read']);
    await withSandbox(
      () => CoreSandbox.create({ ...stack.sdk, apiKey: relayKey.key, metadata: { suite: 'usage', run: RUN_ID }, network: { denyOut: ['0.0.0.0/0'], allowOut: ['deb.debian.org'] }, requestTimeoutMs: CREATE_MS }),
      async (relayed) => {
        // 30 requests on one connection after one name lookup: over 2000 bytes relayed, far more
        // than the DNS queries the firewall counts.
        // Every body goes to stdout (one -o would cover the first URL only): its sizes follow as SIZE lines.
        const fetched = await run(relayed, "curl -sS --connect-timeout 5 --max-time 60 -w '\\nSIZE %{size_download}\\n' 'http://deb.debian.org/debian/?n=[1-30]' | grep '^SIZE '", {}, 90_000);
        const sizes = fetched.stdout.trim().split('\n').map((line) => Number(line.slice('SIZE '.length)));
        assert.equal(sizes.length, 30, fetched.stdout);
        const downloaded = sizes.reduce((a, b) => a + b, 0);
        const u = await waitFor(async () => {
          const row = await usageOf(relayKey.key, relayKey.id);
          return row && row.egressBytes >= 2000 && row.ingressBytes >= downloaded ? row : undefined;
        }, 30_000, `relayed egress bytes and ${downloaded} downloaded bytes`, 1000);
        console.error(`[e2e] relayed usage: ${JSON.stringify(u)}`);
      },
    );
  });
});
