import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { withTimeout } from '@sandboxd/testing';
import { TOOL_NAMES } from '../server.js';
import { createMcpHttpHandler } from './handler.js';

const KEY_A = `e2b_${'a'.repeat(40)}`;
const KEY_B = `e2b_${'b'.repeat(40)}`;

/** A local URL where nothing listens: tool calls that reach for the daemon fail fast there. */
async function deadUrl(): Promise<string> {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
  return `http://127.0.0.1:${port}`;
}

const apiUrl = await deadUrl();
const handler = createMcpHttpHandler({ verifyApiKey: (key) => key === KEY_A || key === KEY_B, idleTimeoutMs: 0 });
after(() => handler.close());

const fetchInto = (key: string | undefined) => (url: string | URL, init?: RequestInit) => {
  const request = new Request(url, init);
  if (key) request.headers.set('authorization', `Bearer ${key}`);
  return handler.handle(request, { apiUrl });
};

async function connect(key: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL('http://daemon.test/mcp'), { fetch: fetchInto(key) });
  const client = new Client({ name: 'unit', version: '0' });
  await withTimeout(client.connect(transport), 5_000, 'connect');
  return { client, transport };
}

const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } });
const post = (headers: Record<string, string>, body = initialize): Request =>
  new Request('http://daemon.test/mcp', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

describe('MCP HTTP handler', () => {
  it('answers 401 in E2B shape without a valid key, before any session exists', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer e2b_${'c'.repeat(40)}` }, { 'x-api-key': 'nope' }]) {
      const res = await handler.handle(post(headers), { apiUrl });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      assert.equal(((await res.json()) as { code: number }).code, 401);
    }
    assert.equal(handler.sessions, 0);
  });

  it('opens a session per initialize, lists the tools, and ends it on DELETE', async () => {
    const { client, transport } = await connect(KEY_A);
    assert.ok(transport.sessionId);
    assert.equal(handler.sessions, 1);
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), [...TOOL_NAMES]);
    await transport.terminateSession();
    assert.equal(handler.sessions, 0);
    const res = await handler.handle(post({ 'x-api-key': KEY_A, 'mcp-session-id': transport.sessionId ?? '' }, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })), { apiUrl });
    assert.equal(res.status, 404);
    await client.close();
  });

  it('binds a session to the key that opened it', async () => {
    const { client, transport } = await connect(KEY_A);
    const sessionId = transport.sessionId!;
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const other = await handler.handle(post({ 'x-api-key': KEY_B, 'mcp-session-id': sessionId }, list), { apiUrl });
    assert.equal(other.status, 404);
    const same = await handler.handle(post({ 'x-api-key': KEY_A, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' }, list), { apiUrl });
    assert.equal(same.status, 200);
    await same.body?.cancel();
    await transport.terminateSession();
    await client.close();
  });

  it('leaves no session behind for a request that is not an initialize', async () => {
    const res = await handler.handle(post({ 'x-api-key': KEY_A }, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' })), { apiUrl });
    assert.equal(res.status, 400);
    await res.body?.cancel();
    const get = await handler.handle(new Request('http://daemon.test/mcp', { headers: { 'x-api-key': KEY_A, accept: 'text/event-stream' } }), { apiUrl });
    assert.equal(get.status, 400);
    assert.equal(handler.sessions, 0);
  });

  it('answers bad arguments and an unreachable daemon with isError tool results', async () => {
    const { client, transport } = await connect(KEY_A);
    const bad = (await client.callTool({ name: 'run_command', arguments: { command: '' } })) as CallToolResult;
    assert.equal(bad.isError, true);
    assert.match(JSON.stringify(bad.content), /Input validation error/);
    const timeout = (await client.callTool({ name: 'run_code', arguments: { code: '1', timeout: 0 } })) as CallToolResult;
    assert.equal(timeout.isError, true);
    const unreachable = (await withTimeout(client.callTool({ name: 'run_command', arguments: { command: 'true' } }), 30_000, 'call')) as CallToolResult;
    assert.equal(unreachable.isError, true);
    const noDefault = (await client.callTool({ name: 'kill_sandbox', arguments: {} })) as CallToolResult;
    assert.equal(noDefault.isError, true);
    assert.match(JSON.stringify(noDefault.content), /no default sandbox/);
    await transport.terminateSession();
    await client.close();
  });

  it('refuses sessions beyond its bound', async () => {
    const small = createMcpHttpHandler({ verifyApiKey: (key) => key === KEY_A, idleTimeoutMs: 0, maxSessions: 1 });
    const first = await small.handle(post({ 'x-api-key': KEY_A }), { apiUrl });
    assert.equal(first.status, 200);
    await first.body?.cancel();
    const second = await small.handle(post({ 'x-api-key': KEY_A }), { apiUrl });
    assert.equal(second.status, 429);
    await small.close();
    assert.equal(small.sessions, 0);
  });
});

describe('MCP HTTP handler idle timeout', () => {
  it('ends an idle session: its id is then unknown', async () => {
    const idle = createMcpHttpHandler({ verifyApiKey: (key) => key === KEY_A, idleTimeoutMs: 50 });
    const res = await idle.handle(post({ 'x-api-key': KEY_A }), { apiUrl });
    const sessionId = res.headers.get('mcp-session-id')!;
    await res.body?.cancel();
    assert.equal(idle.sessions, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(idle.sessions, 0);
    const later = await idle.handle(post({ 'x-api-key': KEY_A, 'mcp-session-id': sessionId }, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })), { apiUrl });
    assert.equal(later.status, 404);
    await idle.close();
  });
});
