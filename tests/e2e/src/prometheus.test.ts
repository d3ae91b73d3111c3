import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import { CALL_MS, CREATE_MS, RUN_ID, assertE2bError, createSandbox, e2eTest, rawFetch, rest, run, waitFor } from './helpers.js';
import { createCodeSandbox, runCode } from './code-helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  // Port 0: the daemon picks the metrics port and logs its URL.
  stack = await startStack({ env: { SANDBOXD_METRICS_PORT: '0' } });
});
after(async () => {
  await stack?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict parser of the Prometheus text format (0.0.4): any line it does not understand fails the test. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][\w:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      assert.ok(!typed.has(type[1]!), `line ${i + 1}: a second TYPE of ${type[1]}`);
      typed.add(type[1]!);
      continue;
    }
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `line ${i + 1} is not exposition format: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_]\w*)="((?:[^"\\]|\\[\\"n])*)"(?:,|$)/y;
    const body = m[2] ?? '';
    while (re.lastIndex < body.length) {
      const l = re.exec(body);
      assert.ok(l, `line ${i + 1}: bad labels ${JSON.stringify(body)}`);
      labels[l[1]!] = l[2]!;
    }
    const raw = m[3]!;
    const value = /^nan$/i.test(raw) ? NaN : /^\+?inf$/i.test(raw) ? Infinity : /^-inf$/i.test(raw) ? -Infinity : Number(raw);
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(raw), `line ${i + 1}: bad value ${raw}`);
    const family = m[1]!.replace(/_(bucket|sum|count)$/, '');
    assert.ok(typed.has(m[1]!) || typed.has(family), `line ${i + 1}: ${m[1]} has no TYPE`);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

const matching = (samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
const total = (samples: Sample[], name: string, labels: Record<string, string> = {}): number =>
  matching(samples, name, labels).reduce((sum, s) => sum + s.value, 0);

const scrape = async (): Promise<Sample[]> => {
  const res = await rest(stack, 'GET', '/metrics');
  assert.equal(res.status, 200, res.text.slice(0, 300));
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(res.text);
};

/** The open listener's URL, from the daemon's log. */
const metricsUrl = (): string => {
  for (const line of stack.log().split('\n')) {
    if (!line.includes('metrics listening')) continue;
    const { url } = JSON.parse(line) as { url: string };
    return url;
  }
  throw new Error('the daemon did not log its metrics listener');
};

describe('prometheus: GET /metrics on a real daemon', () => {
  test('a wrong key is a 401; X-API-KEY and Bearer both scrape', 60_000, async () => {
    assertE2bError(await rest(stack, 'GET', '/metrics', { apiKey: `e2b_${'0'.repeat(40)}` }), 401);
    assertE2bError(await rest(stack, 'GET', '/metrics', { apiKey: null }), 401);
    assertE2bError(await rest(stack, 'GET', '/metrics', { apiKey: null, headers: { authorization: 'Bearer wrong' } }), 401);
    const bearer = await rest(stack, 'GET', '/metrics', { apiKey: null, headers: { authorization: `Bearer ${stack.apiKey}` } });
    assert.equal(bearer.status, 200);
    const samples = parseExposition(bearer.text);
    assert.equal(matching(samples, 'sandboxd_process_resident_memory_bytes').length, 1, 'default process metrics');
  });

  test('two SDK sandboxes: gauges and counters move, per-sandbox series disappear after kill, the open listener needs no key', 360_000, async () => {
    const before = await scrape();
    const runningBefore = total(before, 'sandboxd_sandboxes', { state: 'running' });
    const createsBefore = total(before, 'sandboxd_sandbox_creates_total', { outcome: 'ok' });
    const killsBefore = total(before, 'sandboxd_sandbox_ends_total', { reason: 'killed' });
    const envdOutBefore = total(before, 'sandboxd_proxy_bytes_total', { port_class: 'envd', direction: 'out' });

    const a = await createSandbox(stack, { metadata: { suite: 'prometheus', run: RUN_ID } });
    let b: Awaited<ReturnType<typeof createSandbox>> | undefined;
    try {
      b = await createSandbox(stack, { metadata: { suite: 'prometheus', run: RUN_ID } });
      const ids = [a.sandboxId, b.sandboxId];
      // ~270 kB of output streamed back through the proxy.
      const out = await run(a, 'head -c 200000 /dev/zero | base64 -w0');
      assert.equal(out.exitCode, 0);
      assert.ok(out.stdout.length > 260_000, `stdout of ${out.stdout.length} chars`);

      // Per-sandbox series come from the 5 s sampler: wait for a sample of each.
      const during = await waitFor(
        async () => {
          const s = await scrape();
          return ids.every((id) => matching(s, 'sandboxd_sandbox_memory_bytes', { sandbox_id: id }).length === 1 && matching(s, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: id }).length === 1) && s;
        },
        30_000,
        'memory and CPU series of both sandboxes',
        1000,
      );
      assert.equal(total(during, 'sandboxd_sandboxes', { state: 'running' }) - runningBefore, 2);
      assert.equal(total(during, 'sandboxd_sandbox_creates_total', { outcome: 'ok' }) - createsBefore, 2);
      assert.equal(total(during, 'sandboxd_sandbox_create_duration_seconds_count', { outcome: 'ok' }), total(during, 'sandboxd_sandbox_creates_total', { outcome: 'ok' }));
      for (const id of ids) {
        const [mem] = matching(during, 'sandboxd_sandbox_memory_bytes', { sandbox_id: id });
        const [cpu] = matching(during, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: id });
        assert.ok(mem!.value > 1024 * 1024, `memory of ${id}: ${mem!.value}`);
        assert.ok(cpu!.value > 0 && cpu!.value < 3600, `CPU seconds of ${id}: ${cpu!.value}`);
      }
      // The command's output came back through the proxy on envd's port.
      assert.ok(total(during, 'sandboxd_proxy_requests_total', { port_class: 'envd' }) > 0);
      assert.ok(total(during, 'sandboxd_proxy_bytes_total', { port_class: 'envd', direction: 'out' }) - envdOutBefore > 200_000);
      // The SDK's create, by route pattern; no sandbox id in any label but the per-sandbox gauges'.
      const creates = matching(during, 'sandboxd_http_requests_total', { method: 'POST', status_class: '2xx' }).filter((s) => /^(\/v2)?\/sandboxes$/.test(s.labels['route']!));
      assert.ok(creates.reduce((n, s) => n + s.value, 0) >= 2, JSON.stringify(matching(during, 'sandboxd_http_requests_total')));
      const perSandbox = new Set(['sandboxd_sandbox_memory_bytes', 'sandboxd_sandbox_cpu_seconds']);
      assert.deepEqual(during.filter((s) => !perSandbox.has(s.name) && Object.values(s.labels).some((v) => ids.some((id) => v.includes(id)))), []);

      await withTimeout(a.kill(), CALL_MS, 'kill a');
      const afterKill = await scrape();
      assert.equal(matching(afterKill, 'sandboxd_sandbox_memory_bytes', { sandbox_id: a.sandboxId }).length, 0);
      assert.equal(matching(afterKill, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: a.sandboxId }).length, 0);
      assert.equal(matching(afterKill, 'sandboxd_sandbox_memory_bytes', { sandbox_id: b.sandboxId }).length, 1);
      assert.equal(total(afterKill, 'sandboxd_sandboxes', { state: 'running' }) - runningBefore, 1);
      assert.equal(total(afterKill, 'sandboxd_sandbox_ends_total', { reason: 'killed' }) - killsBefore, 1);
      assert.ok(total(afterKill, 'sandboxd_http_requests_total', { route: '/sandboxes/:sandboxID', method: 'DELETE', status_class: '2xx' }) >= 1);

      // The separate listener (SANDBOXD_METRICS_PORT) answers without a key.
      const open = await rawFetch(metricsUrl());
      assert.equal(open.status, 200);
      const openSamples = parseExposition(open.text);
      assert.equal(matching(openSamples, 'sandboxd_sandbox_memory_bytes', { sandbox_id: b.sandboxId }).length, 1);
      assert.equal((await rawFetch(metricsUrl().replace(/\/metrics$/, '/v2/sandboxes'))).status, 404);
    } finally {
      await withTimeout(a.kill(), CALL_MS, 'kill a').catch(() => undefined);
      if (b) await withTimeout(b.kill(), CALL_MS, 'kill b').catch((err: unknown) => console.error(`[e2e] could not kill ${b?.sandboxId}: ${String(err)}`));
    }
  });

  test('executions and commands through the official SDKs: counted by language and outcome with their durations; kill and pause timed', 360_000, async () => {
    const sbx = await createCodeSandbox(stack, { metadata: { suite: 'prometheus', run: RUN_ID } });
    try {
      // The first cell waits for the kernel to boot (a minute or more on a loaded host): before the count.
      await runCode(sbx, '0', { timeoutMs: CREATE_MS, requestTimeoutMs: CREATE_MS }, CREATE_MS);
      const before = await scrape();
      const delta = (after: Sample[], name: string, labels: Record<string, string>): number => total(after, name, labels) - total(before, name, labels);
      assert.equal((await runCode(sbx, 'import time; time.sleep(0.3); 1 + 1')).text, '2');
      assert.equal((await runCode(sbx, 'undefined_name')).error?.name, 'NameError');
      assert.equal((await runCode(sbx, 'echo hi', { language: 'bash' })).logs.stdout.join(''), 'hi\n');
      // The client gives up after 1 s: the stream ends before the execution's end.
      await assert.rejects(runCode(sbx, 'import time; time.sleep(30)', { timeoutMs: 1000 }));
      assert.equal((await run(sbx, 'echo ok')).exitCode, 0);
      await assert.rejects(run(sbx, 'exit 3'), (err: unknown) => (err as { exitCode?: number }).exitCode === 3);

      const after = await waitFor(
        async () => {
          const s = await scrape();
          return delta(s, 'sandboxd_executions_total', { language: 'python', outcome: 'interrupted' }) >= 1 && s;
        },
        30_000,
        'the interrupted execution counted once its stream closed',
        500,
      );
      assert.equal(delta(after, 'sandboxd_executions_total', { language: 'python', outcome: 'ok' }), 1, JSON.stringify(matching(after, 'sandboxd_executions_total')));
      assert.equal(delta(after, 'sandboxd_executions_total', { language: 'python', outcome: 'error' }), 1);
      assert.equal(delta(after, 'sandboxd_executions_total', { language: 'bash', outcome: 'ok' }), 1);
      assert.equal(delta(after, 'sandboxd_executions_total', { language: 'python', outcome: 'interrupted' }), 1);
      // Durations are of the streams: the sleeping cell took at least its 0.3 s.
      assert.ok(delta(after, 'sandboxd_execution_duration_seconds_sum', { language: 'python', outcome: 'ok' }) >= 0.3);
      assert.equal(delta(after, 'sandboxd_execution_duration_seconds_count', { language: 'python', outcome: 'ok' }), 1);
      assert.ok(delta(after, 'sandboxd_commands_total', { outcome: 'ok' }) >= 1);
      assert.equal(delta(after, 'sandboxd_commands_total', { outcome: 'error' }), 1);
      assert.ok(delta(after, 'sandboxd_command_duration_seconds_count', { outcome: 'ok' }) >= 1);
      assert.ok(total(after, 'sandboxd_host_memory_bytes', { kind: 'committed' }) > 0);
      assert.ok(total(after, 'sandboxd_sandboxes_memory_limit_bytes') >= 512 * 2 ** 20);

      await withTimeout(sbx.pause(), CALL_MS, 'pause');
      await withTimeout(sbx.kill(), CALL_MS, 'kill');
      const ended = await scrape();
      assert.equal(delta(ended, 'sandboxd_sandbox_operations_total', { operation: 'pause', outcome: 'ok' }), 1);
      assert.equal(delta(ended, 'sandboxd_sandbox_operations_total', { operation: 'kill', outcome: 'ok' }), 1);
      assert.equal(delta(ended, 'sandboxd_sandbox_operation_duration_seconds_count', { operation: 'kill', outcome: 'ok' }), 1);
    } finally {
      await withTimeout(sbx.kill(), CALL_MS, 'kill').catch(() => undefined);
    }
  });
});
