/**
 * The code-interpreter API (E2B-compatible, port 49999) as a Hono app built from its deps:
 * `/execute` (NDJSON stream), `/contexts`, `/health`. No sockets: `main.ts` serves `app.fetch`.
 *
 * @example
 * const app = createCodeInterpreterApp({ contexts, accessToken: null, shutdown, bootDefaults });
 * const res = await app.request('/health');
 */
import { Hono } from 'hono';
import { ErrorCode, Headers, SandboxdError } from '@sandboxd/protocol';
import type { ContextInfo, ExecutionLine } from '@sandboxd/protocol';
import { tokenMatches } from '../envd/token.js';
import { errorResponse } from './http-errors.js';
import { normalizeLanguage } from './languages.js';
import { withKeepalive } from './ndjson.js';
import { CreateContextBody, ExecuteBody, executeRequest, parseBody, type ExecuteRequest } from './schemas.js';
import { ExecutionTrace } from './trace.js';

/** One code context as the app sees it (a Jupyter kernel behind it). */
export interface CodeContext {
  readonly id: string;
  info(): ContextInfo;
  execute(code: string, envVars: Record<string, string>, options: { signal?: AbortSignal; trace?: ExecutionTrace }): AsyncIterable<ExecutionLine>;
  restart(): Promise<void>;
}

/** The registry of contexts (`Contexts`), as the app uses it. */
export interface CodeContexts {
  get(id: string): CodeContext | undefined;
  defaultFor(language: string | undefined): Promise<CodeContext>;
  list(): ContextInfo[];
  create(language: string | undefined, cwd: string | undefined, options?: { signal?: AbortSignal }): Promise<CodeContext>;
  remove(id: string): Promise<boolean>;
}

export interface CodeInterpreterAppDeps {
  contexts: CodeContexts;
  /** When set, `/execute` requires it as `X-Access-Token` (the only route the SDKs send it on). */
  accessToken: string | null;
  /** Aborted on shutdown: every running execution is interrupted and its connection cut. */
  shutdown: AbortSignal;
  /** Boots the default contexts (memoised); awaited before any request but `/health`. */
  bootDefaults: () => Promise<unknown>;
  /** When set, each execution's steps are traced and given to it at the stream's end. */
  traceLog?: ((fields: Record<string, unknown>) => void) | undefined;
}

const notFound = (what: string): SandboxdError => new SandboxdError(ErrorCode.NOT_FOUND, what);

export function createCodeInterpreterApp(deps: CodeInterpreterAppDeps): Hono {
  const { contexts } = deps;
  // strict: false: a trailing slash names the same route, as E2B's server treats it.
  const app = new Hono({ strict: false });
  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) => errorResponse(c, notFound('Not Found')));

  app.use('*', async (c, next) => {
    const path = c.req.path.replace(/\/+$/, '') || '/';
    const presented = c.req.header('x-access-token');
    // The official SDKs send X-Access-Token on /execute only (never on /contexts), so only
    // /execute can require it without breaking them; see the note on issue 6.
    if (path === '/execute' && !tokenMatches(presented, deps.accessToken)) {
      throw new SandboxdError(ErrorCode.UNAUTHENTICATED, 'Invalid or missing X-Access-Token');
    }
    // Elsewhere a token that is presented must be the right one.
    if (path !== '/health' && presented !== undefined && !tokenMatches(presented, deps.accessToken)) {
      throw new SandboxdError(ErrorCode.UNAUTHENTICATED, 'Invalid X-Access-Token');
    }
    if (path !== '/health') await deps.bootDefaults();
    await next();
  });

  app.get('/health', (c) => c.json('OK'));

  app.post('/execute', async (c) => {
    const log = deps.traceLog;
    const trace = log ? new ExecutionTrace() : undefined;
    const request = executeRequest(parseBody(ExecuteBody, await c.req.text()));
    if (request.context_id && request.language) {
      throw new SandboxdError(ErrorCode.BAD_REQUEST, 'Only one of context_id or language can be provided');
    }
    const context = request.context_id ? contexts.get(request.context_id) : await contexts.defaultFor(normalizeLanguage(request.language));
    if (!context) throw notFound(`Context ${request.context_id} not found`);
    trace?.mark('parsed');
    const body = executionStream(context.execute.bind(context), request, c.req.raw.signal, deps.shutdown, trace && log ? { trace, log: (steps) => log({ language: context.info().language, ...steps }) } : undefined);
    return new Response(body, {
      status: 200,
      // Chunked from the first byte: the headers go out at once and nothing is buffered to size the body.
      // The language tells the daemon's metrics what ran (a context id alone does not say).
      headers: { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store', 'transfer-encoding': 'chunked', [Headers.executionLanguage]: context.info().language },
    });
  });

  app.get('/contexts', (c) => c.json(contexts.list()));
  app.post('/contexts', async (c) => {
    const body = parseBody(CreateContextBody, await c.req.text());
    const context = await contexts.create(body.language ?? undefined, body.cwd ?? undefined, { signal: c.req.raw.signal });
    return c.json(context.info());
  });
  app.delete('/contexts/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await contexts.remove(id))) throw notFound(`Context ${id} not found`);
    return c.json(null);
  });
  app.post('/contexts/:id/restart', async (c) => {
    const id = c.req.param('id');
    const context = contexts.get(id);
    if (!context) throw notFound(`Context ${id} not found`);
    await context.restart().catch((cause: unknown) => {
      throw new SandboxdError(ErrorCode.INTERNAL, `Failed to restart context ${id}`, { cause });
    });
    return c.json(null);
  });
  return app;
}

const encoder = new TextEncoder();

/**
 * The NDJSON body of one execution, pulled line by line (highWaterMark 0): while the client's
 * socket is full the server stops reading, no line is pulled, the execution's queue fills and the
 * kernel's iopub channel stops being read (see PushStream, KernelClient). A client that goes away
 * (request signal, or the stream cancelled) interrupts the execution; shutdown errors the stream,
 * which cuts the connection instead of ending it cleanly.
 */
function executionStream(
  execute: CodeContext['execute'],
  request: ExecuteRequest,
  clientSignal: AbortSignal,
  shutdown: AbortSignal,
  tracing?: { trace: ExecutionTrace; log: (fields: Record<string, unknown>) => void },
): ReadableStream<Uint8Array> {
  const disconnected = new AbortController();
  const signal = AbortSignal.any([disconnected.signal, clientSignal, shutdown]);
  const trace = tracing?.trace;
  const frames = withKeepalive(execute(request.code, request.env_vars, { signal, ...(trace ? { trace } : {}) }))[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = signal.aborted ? undefined : await frames.next();
        if (next && !next.done && !signal.aborted) {
          trace?.mark('firstLineOut');
          controller.enqueue(encoder.encode(next.value));
          return;
        }
        await frames.return?.(undefined);
        if (tracing) {
          tracing.trace.mark('streamEnd');
          tracing.log(tracing.trace.steps);
        }
        if (shutdown.aborted) controller.error(shutdown.reason);
        else controller.close();
      },
      async cancel(reason) {
        disconnected.abort(reason ?? new Error('client disconnected'));
        await frames.return?.(undefined);
      },
    },
    { highWaterMark: 0 },
  );
}
