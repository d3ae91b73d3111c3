/** HTTP edge of the code-interpreter API: routes, E2B's plain-text errors, NDJSON streaming. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionRequest } from '@sandboxd/protocol';
import { Contexts, UnsupportedLanguageError } from './contexts.js';
import { normalizeLanguage } from './languages.js';
import { withKeepalive } from './ndjson.js';

export interface HandlerOptions {
  contexts: Contexts;
  /** When set, `/execute` requires it as `X-Access-Token` (the only route the SDKs send it on). */
  accessToken: string | null;
  /** Aborted on shutdown: every running execution is interrupted. */
  shutdown: AbortSignal;
  /** Boots the default contexts (memoised); awaited before any request but `/health`. */
  bootDefaults: () => Promise<unknown>;
}

/** On a secure sandbox every route but /health needs X-Access-Token; compared in constant time over sha256 digests. */
function tokenMatches(req: IncomingMessage, token: string | null): boolean {
  if (token === null) return true;
  const raw = req.headers['x-access-token'];
  const presented = Array.isArray(raw) ? raw[0] : raw;
  if (presented === undefined) return false;
  const digest = (v: string): Buffer => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'Request body is not valid JSON');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'Request body must be a JSON object');
  return body as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `${key} must be a string`);
  return value;
}

function parseExecution(body: Record<string, unknown>): ExecutionRequest & { env_vars: Record<string, string> } {
  if (typeof body.code !== 'string') throw new HttpError(400, 'code must be a string');
  const envVars = body.env_vars ?? {};
  if (typeof envVars !== 'object' || Array.isArray(envVars) || envVars === null) throw new HttpError(400, 'env_vars must be an object');
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(envVars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new HttpError(400, `invalid environment variable name: ${key}`);
    env[key] = String(value);
  }
  return { code: body.code, context_id: optionalString(body, 'context_id'), language: optionalString(body, 'language'), env_vars: env };
}

/** Resolves on 'drain', or when the response closes (then the loop sees the aborted signal). */
function drained(res: ServerResponse): Promise<void> {
  if (res.destroyed || res.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

async function execute(req: IncomingMessage, res: ServerResponse, options: HandlerOptions): Promise<void> {
  const request = parseExecution(await readJson(req));
  if (request.context_id && request.language) throw new HttpError(400, 'Only one of context_id or language can be provided');
  const context = request.context_id
    ? options.contexts.get(request.context_id)
    : await options.contexts.defaultFor(normalizeLanguage(request.language));
  if (!context) throw new HttpError(404, `Context ${request.context_id} not found`);

  const disconnected = new AbortController();
  const onClose = (): void => {
    if (!res.writableFinished) disconnected.abort(new Error('client disconnected'));
  };
  res.once('close', onClose);
  const signal = AbortSignal.any([disconnected.signal, options.shutdown]);
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.flushHeaders();
  // Backpressure: while the socket is full the lines are not pulled, the execution's queue
  // fills and the kernel's iopub channel stops being read (see PushStream, KernelClient).
  for await (const frame of withKeepalive(context.execute(request.code, request.env_vars, { signal }))) {
    if (signal.aborted) break;
    if (!res.write(frame)) await drained(res);
  }
  if (signal.aborted && options.shutdown.aborted) res.destroy();
  else res.end();
}

async function route(req: IncomingMessage, res: ServerResponse, options: HandlerOptions): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const method = req.method ?? 'GET';
  const { contexts } = options;
  // The official SDKs send X-Access-Token on /execute only (never on /contexts), so only /execute
  // can require it without breaking them; see the note on issue 6.
  if (path === '/execute' && !tokenMatches(req, options.accessToken)) throw new HttpError(401, 'Invalid or missing X-Access-Token');
  // Elsewhere a token that is presented must be the right one.
  if (path !== '/health' && req.headers['x-access-token'] !== undefined && !tokenMatches(req, options.accessToken)) {
    throw new HttpError(401, 'Invalid X-Access-Token');
  }
  if (path !== '/health') await options.bootDefaults();

  if (path === '/health' && method === 'GET') return sendJson(res, 200, 'OK');
  if (path === '/execute' && method === 'POST') return await execute(req, res, options);
  if (path === '/contexts' && method === 'GET') return sendJson(res, 200, contexts.list());
  if (path === '/contexts' && method === 'POST') {
    const body = await readJson(req);
    const context = await contexts.create(optionalString(body, 'language'), optionalString(body, 'cwd'));
    return sendJson(res, 200, context.info());
  }
  const match = /^\/contexts\/([^/]+)(\/restart)?$/.exec(path);
  if (match) {
    const id = decodeURIComponent(match[1]!);
    if (method === 'DELETE' && !match[2]) {
      if (!(await contexts.remove(id))) throw new HttpError(404, `Context ${id} not found`);
      return sendJson(res, 200, null);
    }
    if (method === 'POST' && match[2]) {
      const context = contexts.get(id);
      if (!context) throw new HttpError(404, `Context ${id} not found`);
      try {
        await context.restart();
      } catch {
        throw new HttpError(500, `Failed to restart context ${id}`);
      }
      return sendJson(res, 200, null);
    }
  }
  throw new HttpError(404, 'Not Found');
}

/** The request handler for `http.createServer`. */
export function createHandler(options: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    route(req, res, options).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : undefined);
        return;
      }
      if (error instanceof HttpError) return sendText(res, error.status, error.message);
      if (error instanceof UnsupportedLanguageError) return sendText(res, 400, error.message);
      sendText(res, 500, error instanceof Error ? error.message : String(error));
    });
  };
}
