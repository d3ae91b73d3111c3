import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from './logger.js';
import { listen } from './serve.js';

describe('serve: request ids', () => {
  it('logs one request line per request with an X-Request-Id, and the handler logs under the same id', async () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 'agent' }, (line) => lines.push(line));
    const server = await listen({
      fetch: () => {
        logger.info('handling');
        return new Response('ok');
      },
      host: '127.0.0.1',
      port: 0,
      accessLog: logger,
    });
    try {
      const res = await fetch(`${server.url}/files?path=/secret&signature=x`, { headers: { 'x-request-id': 'abc-123' } });
      assert.equal(await res.text(), 'ok');
      const bare = await fetch(`${server.url}/health`);
      await bare.text();
      const deadline = Date.now() + 5000;
      while (!lines.some((l) => l.includes('"msg":"request"')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      const handling = records.filter((r) => r['msg'] === 'handling');
      assert.deepEqual(handling.map((r) => r['reqId']), ['abc-123', undefined]);
      const requests = records.filter((r) => r['msg'] === 'request');
      assert.equal(requests.length, 1, 'no line for a request without an id (the daemon\'s own probes)');
      assert.equal(requests[0]!['reqId'], 'abc-123');
      assert.equal(requests[0]!['path'], '/files', 'no query (signatures) in the log');
      assert.equal(requests[0]!['status'], 200);
    } finally {
      await server.close();
    }
  });
});
