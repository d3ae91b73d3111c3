import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_API_KEY, tempHome, testConfig, silentLogger, staticTemplates, withTimeout } from '../testing/harness.js';
import { FakeRuntime } from '../testing/fake-runtime.js';
import { createDaemon } from '../daemon.js';
import { parsePromText, sampleValue } from '../testing/prom-text.js';

describe('daemon metrics listener', () => {
  it('SANDBOXD_METRICS_PORT: an open /metrics listener that counts what the main one serves, closed with the daemon', async () => {
    const runtime = new FakeRuntime();
    const temp = tempHome();
    const daemon = createDaemon({ config: testConfig(temp.home, { metricsPort: 0 }), runtime, templates: staticTemplates(), logger: silentLogger });
    try {
      const { url, metricsUrl } = await withTimeout(daemon.listen(), 10_000, 'listen');
      assert.ok(metricsUrl !== undefined && metricsUrl !== `${url}/metrics`, String(metricsUrl));
      const created = await fetch(`${url}/v2/sandboxes`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY, 'content-type': 'application/json' }, body: '{"templateID":"base"}' });
      assert.equal(created.status, 201);
      const { sandboxID } = (await created.json()) as { sandboxID: string };
      // Sandbox traffic (envd's /health through the proxy) is counted by port class.
      const health = await fetch(`${url}/health`, { headers: { 'e2b-sandbox-id': sandboxID } });
      await health.body?.cancel();
      const res = await withTimeout(fetch(metricsUrl), 5_000, 'open scrape');
      assert.equal(res.status, 200);
      const { samples } = parsePromText(await res.text());
      assert.equal(sampleValue(samples, 'sandboxd_sandboxes', { state: 'running', template: 'base' }), 1);
      assert.equal(sampleValue(samples, 'sandboxd_proxy_requests_total', { port_class: 'envd' }), 1);
      assert.ok((sampleValue(samples, 'sandboxd_proxy_bytes_total', { port_class: 'envd', direction: 'out' }) ?? 0) > 0);
      assert.equal((await fetch(`${url}/metrics`)).status, 401, 'the main listener still wants a key');
      await daemon.close({ timeoutMs: 500 });
      await assert.rejects(fetch(metricsUrl), 'closed with the daemon');
    } finally {
      await daemon.close({ timeoutMs: 500 });
      await runtime.close();
      temp.remove();
    }
  });
});
