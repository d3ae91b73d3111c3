/**
 * envd RPC as the Python SDK sends it: connect-python 0.11 (Connect protocol, the SDK's JSON codec,
 * compression off both ways) with the SDK's default-header interceptor. Unary calls are a JSON POST;
 * server streams are enveloped `application/connect+json`.
 */
import { withTimeout } from './stack.js';

export interface PyRpcTarget {
  sandboxUrl: string;
  /** `ConnectionConfig.sandbox_headers` (User-Agent, E2b-Sandbox-Id/-Port, X-Access-Token). */
  sandboxHeaders: Record<string, string>;
}

export interface RpcOptions {
  /** `timeout_ms`: the SDK passes its request timeout (60 s) on unary calls, the command timeout on streams. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  ms?: number;
}

/** connect-python's own headers: protocol version, identity compression, content type, deadline. */
function protocolHeaders(stream: boolean, timeoutMs: number | undefined): Record<string, string> {
  return {
    'connect-protocol-version': '1',
    [stream ? 'connect-accept-encoding' : 'accept-encoding']: 'identity',
    [stream ? 'connect-content-encoding' : 'content-encoding']: 'identity',
    'content-type': stream ? 'application/connect+json' : 'application/json',
    ...(timeoutMs === undefined ? {} : { 'connect-timeout-ms': String(timeoutMs) }),
  };
}

export interface UnaryResult {
  status: number;
  contentType: string;
  json: unknown;
  text: string;
}

/** A unary call (`ProcessClientSync.list(...)` and friends). */
export async function pyUnary(target: PyRpcTarget, method: string, body: unknown, opts: RpcOptions = {}): Promise<UnaryResult> {
  const ms = opts.ms ?? 60_000;
  const res = await withTimeout(
    fetch(`${target.sandboxUrl}/${method}`, {
      method: 'POST',
      headers: { ...opts.headers, ...protocolHeaders(false, opts.timeoutMs), ...target.sandboxHeaders },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(ms),
    }),
    ms,
    `POST /${method}`,
  );
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', json, text };
}

export interface StreamResult {
  status: number;
  contentType: string;
  /** Data envelopes, decoded as JSON. */
  messages: unknown[];
  /** The end-of-stream message (flag 0x02). */
  end: { error?: { code?: string; message?: string } } | undefined;
}

/** Encodes one Connect envelope (flags 0: an uncompressed message). */
export function envelope(message: unknown): Buffer {
  const data = Buffer.from(JSON.stringify(message), 'utf8');
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

/** Splits a whole streamed body into envelopes, as connect-python's EnvelopeReader does. */
export function parseEnvelopes(buf: Buffer): { messages: unknown[]; end: StreamResult['end'] } {
  const messages: unknown[] = [];
  let end: StreamResult['end'];
  let at = 0;
  while (at + 5 <= buf.length) {
    const flags = buf.readUInt8(at);
    const len = buf.readUInt32BE(at + 1);
    if (at + 5 + len > buf.length) throw new Error(`truncated envelope at ${at}: ${len} bytes announced, ${buf.length - at - 5} left`);
    if ((flags & 0x01) !== 0) throw new Error('compressed envelope, though identity was asked for');
    const payload = JSON.parse(buf.subarray(at + 5, at + 5 + len).toString('utf8')) as unknown;
    if ((flags & 0x02) !== 0) end = payload as StreamResult['end'];
    else messages.push(payload);
    at += 5 + len;
  }
  if (at !== buf.length) throw new Error(`${buf.length - at} trailing bytes after the last envelope`);
  return { messages, end };
}

/** A server-streaming call read to its end (`start`, `connect`, `watch_dir` of bounded lifetime). */
export async function pyServerStream(target: PyRpcTarget, method: string, body: unknown, opts: RpcOptions = {}): Promise<StreamResult> {
  const ms = opts.ms ?? 60_000;
  const res = await withTimeout(
    fetch(`${target.sandboxUrl}/${method}`, {
      method: 'POST',
      headers: { ...opts.headers, ...protocolHeaders(true, opts.timeoutMs), ...target.sandboxHeaders },
      body: envelope(body),
      signal: AbortSignal.timeout(ms),
    }),
    ms,
    `POST /${method} (stream)`,
  );
  const buf = Buffer.from(await withTimeout(res.arrayBuffer(), ms, `body of /${method}`));
  const contentType = res.headers.get('content-type') ?? '';
  if (res.status !== 200) return { status: res.status, contentType, messages: [], end: undefined };
  return { status: res.status, contentType, ...parseEnvelopes(buf) };
}

/** A server stream read message by message (to act on the start event while the process runs). */
export async function* pyOpenStream(target: PyRpcTarget, method: string, body: unknown, opts: RpcOptions & { signal?: AbortSignal } = {}): AsyncGenerator<{ end: boolean; message: unknown }> {
  const res = await fetch(`${target.sandboxUrl}/${method}`, {
    method: 'POST',
    headers: { ...opts.headers, ...protocolHeaders(true, opts.timeoutMs), ...target.sandboxHeaders },
    body: envelope(body),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.status !== 200 || res.headers.get('content-type') !== 'application/connect+json') {
    throw new Error(`/${method}: ${res.status} ${res.headers.get('content-type')}: ${(await res.text()).slice(0, 300)}`);
  }
  const reader = res.body!.getReader();
  let buf = Buffer.alloc(0);
  try {
    for (;;) {
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const len = buf.readUInt32BE(1);
        const end = (buf.readUInt8(0) & 0x02) !== 0;
        const message = JSON.parse(buf.subarray(5, 5 + len).toString('utf8')) as unknown;
        buf = buf.subarray(5 + len);
        yield { end, message };
        if (end) return;
      }
      const { done, value } = await reader.read();
      if (done) throw new Error(`/${method}: stream ended without an end-of-stream message`);
      buf = Buffer.concat([buf, value]);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * What connect-python accepts as a unary answer: 200 with `application/json` (codec `json`), or an
 * error status whose body is `application/json` (a Connect error `{code: <string>, message}`); the
 * SDK's PlainHTTPErrorTransport maps other error bodies by status.
 */
export function unaryContentTypeOk(r: UnaryResult): boolean {
  const ct = r.contentType.split(';')[0]!.trim();
  return ct === 'application/json';
}

/** connect-python's stream check: exactly `application/connect+json` (no parameters). */
export const streamContentTypeOk = (r: StreamResult): boolean => r.contentType === 'application/connect+json';
