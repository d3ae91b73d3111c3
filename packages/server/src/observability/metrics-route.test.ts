import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CODE_INTERPRETER_PORT, ENVD_PORT } from '@sandboxd/protocol';
import { withTimeout } from '@sandboxd/testing';
import { createDaemonMetrics } from './daemon-metrics.js';
import { openMetricsListener, requestApiKey } from './metrics-route.js';
import { portClass } from './port-class.js';

describe('metrics route', () => {
  it('reads the key from X-API-KEY first, else from a Bearer authorization', () => {
    const from = (h: Record<string, string>) => requestApiKey((name) => h[name.toLowerCase()]);
    assert.equal(from({ 'x-api-key': 'k1', authorization: 'Bearer k2' }), 'k1');
    assert.equal(from({ authorization: 'Bearer k2' }), 'k2');
    assert.equal(from({ authorization: 'bearer   k3 ' }), 'k3');
    assert.equal(from({ authorization: 'Basic k2' }), undefined);
    assert.equal(from({}), undefined);
  });

  it('the open listener serves GET /metrics without a key and 404s anything else', async () => {
    const metrics = createDaemonMetrics({ processMetrics: false, sandboxes: { running: () => [], onEnd: () => () => undefined }, samples: { latest: () => undefined, cpuNanos: () => undefined } });
    const server = http.createServer(openMetricsListener(metrics, (err) => assert.fail(String(err))));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ok = await withTimeout(fetch(`${base}/metrics?x=1`), 5_000, 'GET /metrics');
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /^# HELP sandboxd_sandboxes /m);
      const other = await withTimeout(fetch(`${base}/v2/sandboxes`), 5_000, 'GET /v2/sandboxes');
      assert.equal(other.status, 404);
      await other.body?.cancel();
      const post = await withTimeout(fetch(`${base}/metrics`, { method: 'POST' }), 5_000, 'POST /metrics');
      assert.equal(post.status, 404);
      await post.body?.cancel();
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('classes ports as envd, code_interpreter, user or none', () => {
    assert.equal(portClass(ENVD_PORT), 'envd');
    assert.equal(portClass(CODE_INTERPRETER_PORT), 'code_interpreter');
    assert.equal(portClass(8080), 'user');
    assert.equal(portClass(undefined), 'none');
  });
});
