import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './api-error.js';
import { connectUnary, downloadFile, envdHeaders } from './envd.js';

describe('envd through the proxy', () => {
  it('routes by E2b-Sandbox-Id/Port with the access token, and no API key', () => {
    assert.deepEqual(envdHeaders({ sandboxId: 'abc', accessToken: 'tok' }), { 'E2b-Sandbox-Id': 'abc', 'E2b-Sandbox-Port': '49983', 'X-Access-Token': 'tok' });
    assert.deepEqual(envdHeaders({ sandboxId: 'abc' }), { 'E2b-Sandbox-Id': 'abc', 'E2b-Sandbox-Port': '49983' });
  });

  it('calls Connect unary methods with JSON at /<service>/<method>, errors by their Connect code', async () => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const body = await connectUnary<{ processes: unknown[] }>({ sandboxId: 's1', accessToken: 't' }, 'process.Process/List', {}, {}, async (url, init) => {
      calls.push({ url, init });
      return Response.json({ processes: [] });
    });
    assert.deepEqual(body, { processes: [] });
    assert.equal(calls[0]!.url, '/process.Process/List');
    const headers = calls[0]!.init.headers as Record<string, string>;
    assert.equal(headers['Connect-Protocol-Version'], '1');
    assert.equal(headers['Content-Type'], 'application/json');
    assert.equal(headers['X-API-KEY'], undefined);
    await assert.rejects(
      connectUnary({ sandboxId: 's1' }, 'filesystem.Filesystem/ListDir', { path: '/x' }, {}, async () => Response.json({ code: 'not_found', message: 'no such dir' }, { status: 404 })),
      (e: unknown) => e instanceof ApiError && e.code === 'not_found',
    );
  });

  it('downloads with the path in the query and the bytes as they come', async () => {
    let url = '';
    const blob = await downloadFile({ sandboxId: 's1', accessToken: 't' }, '/home/user/a b.bin', {}, async (u) => {
      url = u;
      return new Response(new Uint8Array([0, 1, 255]));
    });
    assert.equal(url, '/files?path=%2Fhome%2Fuser%2Fa+b.bin');
    assert.deepEqual([...new Uint8Array(await blob.arrayBuffer())], [0, 1, 255]);
  });
});
