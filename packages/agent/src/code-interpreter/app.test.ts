import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { ContextInfo, ExecutionLine } from '@sandboxd/protocol';
import { createCodeInterpreterApp, type CodeContext, type CodeContexts } from './app.js';
import { ExecuteBody, executeRequest, parseBody } from './schemas.js';

/** A context whose executions print `lines` stdout lines, counting how many were pulled. */
class CountingContext implements CodeContext {
  pulled = 0;
  lastSignal: AbortSignal | undefined;
  lastEnv: Record<string, string> | undefined;
  constructor(
    readonly id: string,
    private readonly lines: number,
  ) {}
  info(): ContextInfo {
    return { id: this.id, language: 'python', cwd: '/home/user' };
  }
  async *execute(code: string, envVars: Record<string, string>, options: { signal?: AbortSignal }): AsyncGenerator<ExecutionLine> {
    this.lastSignal = options.signal;
    this.lastEnv = envVars;
    for (let i = 0; i < this.lines; i++) {
      if (options.signal?.aborted) return;
      this.pulled++;
      yield { type: 'stdout', text: `${code} ${i}\n`, timestamp: 'now' };
    }
    yield { type: 'end_of_execution' };
  }
  async restart(): Promise<void> {
    if (this.id === 'broken') throw new Error('kernel died');
  }
}

/** The registry as the app uses it, holding contexts in a map (the real one starts kernels). */
class MapContexts implements CodeContexts {
  readonly byId = new Map<string, CountingContext>();
  constructor(readonly python: CountingContext) {
    this.byId.set(python.id, python);
  }
  get(id: string) {
    return this.byId.get(id);
  }
  async defaultFor(language: string | undefined) {
    if (language !== 'python') throw new SandboxdError(ErrorCode.BAD_REQUEST, `Unsupported language: ${language}`);
    return this.python;
  }
  list() {
    return [...this.byId.values()].map((c) => c.info());
  }
  async create(language: string | undefined) {
    const context = new CountingContext(`ctx-${this.byId.size}`, 1);
    if (language === 'cobol') throw new SandboxdError(ErrorCode.BAD_REQUEST, 'Unsupported language: cobol');
    this.byId.set(context.id, context);
    return context;
  }
  async remove(id: string) {
    return this.byId.delete(id);
  }
}

function setup(lines = 3, accessToken: string | null = null) {
  const contexts = new MapContexts(new CountingContext('default', lines));
  const shutdown = new AbortController();
  let boots = 0;
  const app = createCodeInterpreterApp({ contexts, accessToken, shutdown: shutdown.signal, bootDefaults: async () => boots++ });
  const execute = (body: unknown, headers: Record<string, string> = {}) =>
    app.request('/execute', { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
  return { app, contexts, shutdown, execute, boots: () => boots };
}

describe('code-interpreter app (in-process, app.request)', () => {
  it('streams an execution as NDJSON lines', async () => {
    const { execute, contexts } = setup(2);
    const res = await execute({ code: 'print', env_vars: { A: 1 } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as ExecutionLine);
    assert.deepEqual(lines.map((l) => l.type), ['stdout', 'stdout', 'end_of_execution']);
    assert.deepEqual(contexts.python.lastEnv, { A: '1' });
  });

  it('pulls lines only as the client reads them (backpressure) and stops the execution when the client goes', async () => {
    const { execute, contexts } = setup(1000);
    const res = await execute({ code: 'x' });
    const reader = res.body!.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(contexts.python.pulled <= 2, `pulled ${contexts.python.pulled} lines for one read`);
    await reader.cancel();
    assert.equal(contexts.python.lastSignal?.aborted, true);
  });

  it('errors the stream on shutdown (the connection is cut, not ended cleanly)', async () => {
    const { execute, shutdown } = setup(1000);
    const res = await execute({ code: 'x' });
    const reader = res.body!.getReader();
    await reader.read();
    shutdown.abort(new Error('shutting down'));
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) return;
    }, /shutting down/);
  });

  it('takes the nulls the Python SDK sends (context_id, language, env_vars) as absent', () => {
    const request = executeRequest(parseBody(ExecuteBody, JSON.stringify({ code: '1', context_id: null, language: null, env_vars: null })));
    assert.deepEqual(request, { code: '1', context_id: undefined, language: undefined, env_vars: {} });
  });

  it('answers E2B\'s plain-text 400s for bad bodies', async () => {
    const { execute } = setup();
    const cases: Array<[unknown, string]> = [
      ['{', 'Request body is not valid JSON'],
      ['[]', 'Request body must be a JSON object'],
      [{}, 'code must be a string'],
      [{ code: 'x', env_vars: [] }, 'env_vars must be an object'],
      [{ code: 'x', env_vars: { 'A-B': '1' } }, 'invalid environment variable name: A-B'],
      [{ code: 'x', context_id: 5 }, 'context_id must be a string'],
      [{ code: 'x', context_id: 'default', language: 'python' }, 'Only one of context_id or language can be provided'],
      [{ code: 'x', language: 'cobol' }, 'Unsupported language: cobol'],
    ];
    for (const [body, message] of cases) {
      const res = await execute(body);
      assert.equal(res.status, 400, message);
      assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(await res.text(), message);
    }
    const missing = await execute({ code: 'x', context_id: 'nope' });
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'Context nope not found');
  });

  it('requires the token on /execute only, refuses a wrong one elsewhere, and boots kernels first', async () => {
    const { app, execute, boots } = setup(1, 'tok');
    assert.equal((await app.request('/health')).status, 200);
    assert.equal(await (await app.request('/health')).json(), 'OK');
    assert.equal(boots(), 0, '/health does not boot kernels');
    assert.equal((await execute({ code: 'x' })).status, 401);
    assert.equal(await (await execute({ code: 'x' }, { 'X-Access-Token': 'bad' })).text(), 'Invalid or missing X-Access-Token');
    assert.equal((await execute({ code: 'x' }, { 'X-Access-Token': 'tok' })).status, 200);
    assert.equal((await app.request('/contexts')).status, 200);
    const wrong = await app.request('/contexts', { headers: { 'X-Access-Token': 'bad' } });
    assert.equal(wrong.status, 401);
    assert.equal(await wrong.text(), 'Invalid X-Access-Token');
    assert.ok(boots() > 0);
  });

  it('creates, lists, restarts and deletes contexts; unknown ones are 404', async () => {
    const { app } = setup();
    const created = await app.request('/contexts', { method: 'POST', body: JSON.stringify({ language: 'python', cwd: '/tmp' }) });
    const info = (await created.json()) as ContextInfo;
    assert.equal(info.id, 'ctx-1');
    assert.deepEqual(((await (await app.request('/contexts/')).json()) as ContextInfo[]).map((c) => c.id), ['default', 'ctx-1']);
    assert.equal((await app.request('/contexts/ctx-1/restart', { method: 'POST' })).status, 200);
    assert.equal((await app.request('/contexts/ctx-1', { method: 'DELETE' })).status, 200);
    const gone = await app.request('/contexts/ctx-1', { method: 'DELETE' });
    assert.equal(gone.status, 404);
    assert.equal(await gone.text(), 'Context ctx-1 not found');
    assert.equal(await (await app.request('/nope')).text(), 'Not Found');
  });
});
