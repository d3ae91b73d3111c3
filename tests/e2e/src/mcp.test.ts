import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, rawFetch, rest, waitFor } from './helpers.js';
import { pinnedNode, startStack, withTimeout, type Stack } from './stack.js';

const daemonEntry = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'packages/server/dist/main.js');

/** The tool set and the metadata key of MCP-made sandboxes: the contract, spelled out here on purpose. */
const TOOL_NAMES = ['create_sandbox', 'kill_sandbox', 'run_code', 'run_command', 'read_file', 'write_file', 'list_directory'];
const MCP_METADATA_KEY = 'sandboxd-mcp-session';

let stack: Stack;
const test = e2eTest(() => stack);
const clients: Client[] = [];

before(async () => {
  stack = await startStack();
});
after(async () => {
  for (const client of clients) await client.close().catch(() => undefined);
  await stack?.stop();
});

type Transport = 'stdio' | 'http';

/** An MCP client of the stack over `transport`, with `apiKey` (default: the stack's). */
async function connect(transport: Transport, apiKey = stack.apiKey, stdioArgs: string[] = []): Promise<{ client: Client; http?: StreamableHTTPClientTransport }> {
  const client = new Client({ name: `e2e-${RUN_ID}`, version: '0.0.0' });
  if (transport === 'stdio') {
    const stdio = new StdioClientTransport({
      command: pinnedNode,
      args: [daemonEntry, 'mcp', ...stdioArgs],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', E2B_API_URL: stack.apiUrl, E2B_API_KEY: apiKey },
      stderr: 'inherit',
    });
    await withTimeout(client.connect(stdio), CALL_MS, 'stdio connect');
    clients.push(client);
    return { client };
  }
  const http = new StreamableHTTPClientTransport(new URL(`${stack.apiUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${apiKey}` } } });
  await withTimeout(client.connect(http), CALL_MS, 'http connect');
  clients.push(client);
  return { client, http };
}

const call = (client: Client, name: string, args: Record<string, unknown>, ms = CALL_MS): Promise<CallToolResult> =>
  withTimeout(client.callTool({ name, arguments: args }, undefined, { timeout: ms }) as Promise<CallToolResult>, ms, `tool ${name}`);

const texts = (result: CallToolResult): string =>
  result.content
    .filter((c) => c.type === 'text')
    .map((c) => (c as { text: string }).text)
    .join('\n');

/** Sandboxes in the REST list that an MCP session created. */
async function mcpSandboxIds(): Promise<string[]> {
  const res = await rest(stack, 'GET', '/v2/sandboxes?limit=100');
  assert.equal(res.status, 200, res.text);
  return (res.json as Array<{ sandboxID: string; metadata?: Record<string, string> }>)
    .filter((s) => s.metadata?.[MCP_METADATA_KEY] !== undefined)
    .map((s) => s.sandboxID);
}

/** The sandbox a session's first call created: the MCP sandbox that was not in `before`. */
async function newSandbox(before: string[]): Promise<string> {
  const now = await mcpSandboxIds();
  const added = now.filter((id) => !before.includes(id));
  assert.equal(added.length, 1, `expected one new MCP sandbox, before ${JSON.stringify(before)}, now ${JSON.stringify(now)}`);
  return added[0]!;
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`MCP over ${transport}`, () => {
    let client: Client;
    before(async () => {
      ({ client } = await connect(transport));
    });

    test('lists the tools with input schemas', 60_000, async () => {
      const { tools } = await withTimeout(client.listTools(), CALL_MS, 'listTools');
      assert.deepEqual(tools.map((t) => t.name).sort(), [...TOOL_NAMES].sort());
      const runCode = tools.find((t) => t.name === 'run_code')!;
      assert.deepEqual(runCode.inputSchema.required, ['code']);
      assert.ok(runCode.inputSchema.properties?.['language']);
    });

    test('run_code returns a matplotlib chart as PNG image content, stdout as text', CREATE_MS + 120_000, async () => {
      const result = await call(
        client,
        'run_code',
        { code: 'import matplotlib.pyplot as plt\nprint("plotting")\nplt.plot([1, 2, 3], [4, 1, 9])\nplt.title("mcp chart")\nplt.show()' },
        CREATE_MS + 60_000,
      );
      assert.notEqual(result.isError, true, texts(result));
      assert.match(texts(result), /stdout:\nplotting/);
      const image = result.content.find((c) => c.type === 'image') as { data: string; mimeType: string } | undefined;
      assert.ok(image, `no image content: ${JSON.stringify(result.content).slice(0, 500)}`);
      assert.equal(image.mimeType, 'image/png');
      assert.deepEqual([...Buffer.from(image.data, 'base64').subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
      assert.match(texts(result), /"title":"mcp chart"/);
    });

    test('run_code keeps state per named context; errors come back as isError text', 120_000, async () => {
      assert.notEqual((await call(client, 'run_code', { code: 'x = 41', context: 'a' })).isError, true);
      const same = await call(client, 'run_code', { code: 'x + 1', context: 'a' });
      assert.equal(texts(same), '42');
      const other = await call(client, 'run_code', { code: 'x + 1', context: 'b' });
      assert.equal(other.isError, true);
      assert.match(texts(other), /NameError/);
      const js = await call(client, 'run_code', { code: 'const y = 6 * 7; y', language: 'javascript' });
      assert.equal(texts(js), '42');
    });

    test('run_command returns stdout, stderr and the exit code; a timeout kills it', 120_000, async () => {
      const ok = await call(client, 'run_command', { command: 'echo out; echo err >&2; exit 3' });
      assert.notEqual(ok.isError, true, texts(ok));
      assert.deepEqual(ok.structuredContent, { stdout: 'out\n', stderr: 'err\n', exitCode: 3 });
      const cwd = await call(client, 'run_command', { command: 'pwd; echo $GREETING', cwd: '/tmp', envs: { GREETING: 'hi' } });
      assert.equal((cwd.structuredContent as { stdout: string }).stdout, '/tmp\nhi\n');
      const started = Date.now();
      const slow = await call(client, 'run_command', { command: 'echo started; sleep 30', timeout: 2 });
      assert.equal(slow.isError, true);
      assert.match(texts(slow), /killed after the 2 s timeout/);
      assert.match(texts(slow), /started/);
      assert.ok(Date.now() - started < 20_000, `timeout took ${Date.now() - started} ms`);
      const ps = await call(client, 'run_command', { command: 'pgrep -x sleep || true' });
      assert.equal((ps.structuredContent as { stdout: string }).stdout, '');
    });

    test('write_file then read_file and list_directory', 120_000, async () => {
      const dir = `/home/user/mcp-${transport}`;
      const wrote = await call(client, 'write_file', { path: `${dir}/hello.txt`, content: 'héllo from mcp\n' });
      assert.notEqual(wrote.isError, true, texts(wrote));
      assert.match(texts(wrote), /wrote 16 bytes/);
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
      await call(client, 'write_file', { path: `${dir}/tiny.png`, content: png.toString('base64'), encoding: 'base64' });
      const read = await call(client, 'read_file', { path: `${dir}/hello.txt` });
      assert.deepEqual(read.content, [{ type: 'text', text: 'héllo from mcp\n' }]);
      const image = await call(client, 'read_file', { path: `${dir}/tiny.png` });
      assert.deepEqual(image.content, [{ type: 'image', data: png.toString('base64'), mimeType: 'image/png' }]);
      const listed = await call(client, 'list_directory', { path: dir });
      const entries = (listed.structuredContent as { entries: Array<{ name: string; type: string; size: number }> }).entries;
      assert.deepEqual(entries.map((e) => [e.name, e.type, e.size]).sort(), [['hello.txt', 'file', 16], ['tiny.png', 'file', 11]]);
      assert.match(texts(listed), /hello\.txt/);
    });

    test('bad input answers isError tool results', 60_000, async () => {
      const missing = await call(client, 'run_command', {});
      assert.equal(missing.isError, true);
      assert.match(texts(missing), /Input validation error/);
      const language = await call(client, 'run_code', { code: '1', language: 'cobol' });
      assert.equal(language.isError, true);
      assert.match(texts(language), /language/);
      const noFile = await call(client, 'read_file', { path: '/home/user/does-not-exist' });
      assert.equal(noFile.isError, true);
      assert.match(texts(noFile), /does-not-exist|not found/i);
      const badId = await call(client, 'run_command', { command: 'true', sandboxId: 'nosuchsandbox0000000' });
      assert.equal(badId.isError, true);
      const base64 = await call(client, 'write_file', { path: '/tmp/x', content: 'not base64!', encoding: 'base64' });
      assert.equal(base64.isError, true);
    });

    test('create_sandbox (internet off) is addressed by sandboxId; kill_sandbox kills it', CREATE_MS + 60_000, async () => {
      const created = await call(client, 'create_sandbox', { internet: false, timeout: 600 }, CREATE_MS);
      assert.notEqual(created.isError, true, texts(created));
      const { sandboxId, isDefault } = created.structuredContent as { sandboxId: string; isDefault: boolean };
      assert.equal(isDefault, false, 'the session already has a default sandbox');
      const info = await rest(stack, 'GET', `/sandboxes/${sandboxId}`);
      assert.equal(info.status, 200);
      assert.equal((info.json as { allowInternetAccess?: boolean }).allowInternetAccess, false, info.text);
      await call(client, 'write_file', { path: '/home/user/only-here', content: 'x', sandboxId });
      const there = await call(client, 'run_command', { command: 'cat /home/user/only-here', sandboxId });
      assert.equal((there.structuredContent as { stdout: string }).stdout, 'x');
      const notDefault = await call(client, 'run_command', { command: 'test -e /home/user/only-here; echo $?' });
      assert.equal((notDefault.structuredContent as { stdout: string }).stdout, '1\n');
      const killed = await call(client, 'kill_sandbox', { sandboxId });
      assert.match(texts(killed), new RegExp(`killed sandbox ${sandboxId}`));
      assert.equal(!(await mcpSandboxIds()).includes(sandboxId), true);
    });

    test('ending the session kills its sandbox (checked through the REST list)', CREATE_MS + 60_000, async () => {
      const before = await mcpSandboxIds();
      const own = await connect(transport);
      const ran = await call(own.client, 'run_command', { command: 'echo alive' }, CREATE_MS);
      assert.equal((ran.structuredContent as { stdout: string }).stdout, 'alive\n');
      const sandboxId = await newSandbox(before);
      const again = await call(own.client, 'run_command', { command: 'echo again' });
      assert.equal((again.structuredContent as { stdout: string }).stdout, 'again\n');
      assert.deepEqual(await mcpSandboxIds().then((ids) => ids.filter((id) => !before.includes(id))), [sandboxId], 'the sandbox is reused');
      // stdio: closing the client ends stdin (EOF); HTTP: DELETE on the session, then close.
      if (own.http) await withTimeout(own.http.terminateSession(), CALL_MS, 'DELETE session');
      await withTimeout(own.client.close(), CALL_MS, 'client close');
      await waitFor(async () => !(await mcpSandboxIds()).includes(sandboxId), 15_000, `sandbox ${sandboxId} killed`);
    });
  });
}

describe('MCP idle timeout', () => {
  test('stdio --idle-timeout: an idle session loses its sandbox; the next call makes a new one', CREATE_MS * 2 + 60_000, async () => {
    const before = await mcpSandboxIds();
    const { client } = await connect('stdio', stack.apiKey, ['--idle-timeout', '3']);
    await call(client, 'run_command', { command: 'true' }, CREATE_MS);
    const first = await newSandbox(before);
    await waitFor(async () => !(await mcpSandboxIds()).includes(first), 20_000, `idle sandbox ${first} killed`);
    const again = await call(client, 'run_command', { command: 'echo back' }, CREATE_MS);
    assert.equal((again.structuredContent as { stdout: string }).stdout, 'back\n');
    const second = await newSandbox(before);
    assert.notEqual(second, first);
    await withTimeout(client.close(), CALL_MS, 'client close');
    await waitFor(async () => !(await mcpSandboxIds()).includes(second), 15_000, `sandbox ${second} killed`);
  });
});

describe('MCP default sandbox ended elsewhere', () => {
  test('a default sandbox killed through REST is reported once, then replaced', CREATE_MS * 2 + 60_000, async () => {
    const before = await mcpSandboxIds();
    const { client, http } = await connect('http');
    await call(client, 'write_file', { path: '/home/user/state', content: 'old' }, CREATE_MS);
    const first = await newSandbox(before);
    assert.equal((await rest(stack, 'DELETE', `/sandboxes/${first}`)).status, 204);
    const failed = await call(client, 'read_file', { path: '/home/user/state' });
    assert.equal(failed.isError, true);
    assert.match(texts(failed), new RegExp(`sandbox ${first} has ended.*creates a new default sandbox`));
    const fresh = await call(client, 'run_command', { command: 'test -e /home/user/state; echo $?' }, CREATE_MS);
    assert.equal((fresh.structuredContent as { stdout: string }).stdout, '1\n');
    const second = await newSandbox(before);
    assert.notEqual(second, first);
    await withTimeout(http!.terminateSession(), CALL_MS, 'DELETE session');
    await client.close();
    assert.equal((await mcpSandboxIds()).includes(second), false);
  });
});

describe('MCP authentication', () => {
  test('HTTP: a wrong or missing key is rejected with 401; X-API-KEY works too', 60_000, async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } } };
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const none = await rawFetch(`${stack.apiUrl}/mcp`, { method: 'POST', headers, body: JSON.stringify(init) });
    assert.equal(none.status, 401);
    assert.equal((none.json as { code: number }).code, 401);
    const wrong = await rawFetch(`${stack.apiUrl}/mcp`, { method: 'POST', headers: { ...headers, authorization: `Bearer e2b_${'0'.repeat(40)}` }, body: JSON.stringify(init) });
    assert.equal(wrong.status, 401);
    const good = await rawFetch(`${stack.apiUrl}/mcp`, { method: 'POST', headers: { ...headers, 'x-api-key': stack.apiKey }, body: JSON.stringify(init) });
    assert.equal(good.status, 200, good.text);
    const sessionId = good.headers.get('mcp-session-id');
    assert.ok(sessionId, 'a session id is issued');
    const bye = await rawFetch(`${stack.apiUrl}/mcp`, { method: 'DELETE', headers: { 'x-api-key': stack.apiKey, 'mcp-session-id': sessionId } });
    assert.equal(bye.status, 200);
    const gone = await rawFetch(`${stack.apiUrl}/mcp`, { method: 'POST', headers: { ...headers, 'x-api-key': stack.apiKey, 'mcp-session-id': sessionId }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    assert.equal(gone.status, 404);
    await assert.rejects(connect('http', `e2b_${'1'.repeat(40)}`), /401|nauthorized/);
  });

  test('stdio: with a wrong key tools answer isError and no sandbox is made', 60_000, async () => {
    const before = await mcpSandboxIds();
    const { client } = await connect('stdio', `e2b_${'2'.repeat(40)}`);
    const result = await call(client, 'run_command', { command: 'true' });
    assert.equal(result.isError, true);
    assert.match(texts(result), /401|API key|auth/i);
    assert.deepEqual(await mcpSandboxIds(), before);
    await client.close();
  });
});

describe('MCP at daemon stop', () => {
  test('a graceful stop ends the HTTP sessions and kills their sandboxes; other sandboxes are adopted', CREATE_MS * 2 + 120_000, async () => {
    const before = await mcpSandboxIds();
    const own = await connect('http');
    const ran = await call(own.client, 'run_command', { command: 'echo alive' }, CREATE_MS);
    assert.equal((ran.structuredContent as { stdout: string }).stdout, 'alive\n');
    const mcpSandbox = await newSandbox(before);
    const created = await rest(stack, 'POST', '/v2/sandboxes', { body: JSON.stringify({ templateID: 'base', timeout: 600 }) });
    assert.equal(created.status, 201, created.text);
    const plain = (created.json as { sandboxID: string }).sandboxID;

    await withTimeout(stack.shutdown(), 60_000, 'daemon SIGTERM');
    await withTimeout(stack.restart(), CREATE_MS, 'daemon restart');

    const listed = await rest(stack, 'GET', '/v2/sandboxes?limit=100');
    const ids = (listed.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID);
    assert.ok(!ids.includes(mcpSandbox), `the MCP session's sandbox ${mcpSandbox} was killed at the stop: ${JSON.stringify(ids)}`);
    assert.ok(ids.includes(plain), `the REST sandbox ${plain} was adopted: ${JSON.stringify(ids)}`);
  });
});
