import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { createMcpServer } from '../server.js';
import { McpSession } from '../session.js';
import { presentedApiKey } from './auth.js';

/** Default idle timeout of an HTTP session: after it the session and its sandboxes end. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;
/** Default bound on concurrent HTTP sessions (each may hold sandboxes). */
export const DEFAULT_MAX_SESSIONS = 256;
/** Largest request body; write_file takes up to 16 MiB of content, base64 or JSON-escaped. */
export const MAX_BODY_BYTES = 24 * 1024 * 1024;

export interface McpHttpHandlerOptions {
  /** True for an API key the daemon's REST API accepts. */
  verifyApiKey: (key: string | undefined) => boolean;
  idleTimeoutMs?: number;
  maxSessions?: number;
  /** Largest `timeout` of create_sandbox, in seconds. */
  maxTimeoutSec?: number;
  onError?: (error: unknown, what: string) => void;
}

export interface McpHttpHandler {
  /**
   * Answers one request to the MCP endpoint. `apiUrl` is where this handler reaches the daemon's
   * REST API (with the key the client presented).
   */
  handle(request: Request, target: { apiUrl: string }): Promise<Response>;
  /** Number of open sessions. */
  readonly sessions: number;
  /** Ends every session and kills their sandboxes. */
  close(): Promise<void>;
}

interface Entry {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  session: McpSession;
  keyHash: Buffer;
}

const sha256 = (value: string): Buffer => createHash('sha256').update(value).digest();

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

const jsonRpcError = (status: number, code: number, message: string): Response => json(status, { jsonrpc: '2.0', error: { code, message }, id: null });

/**
 * The Streamable HTTP transport of the MCP server, as a fetch-style handler: API-key auth (the
 * REST API's keys, `X-API-KEY` or `Authorization: Bearer`), one MCP session per `Mcp-Session-Id`
 * bound to the key that opened it, its sandboxes killed on DELETE, on idle timeout and on `close()`.
 *
 * @example
 * const mcp = createMcpHttpHandler({ verifyApiKey: (key) => apiKeys.verify(key) });
 * const res = await mcp.handle(request, { apiUrl: 'http://127.0.0.1:3000' });
 */
export function createMcpHttpHandler(options: McpHttpHandlerOptions): McpHttpHandler {
  const entries = new Map<string, Entry>();
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;

  const end = async (sessionId: string | undefined, entry: Entry): Promise<void> => {
    if (sessionId !== undefined && entries.get(sessionId) === entry) entries.delete(sessionId);
    await entry.session.close();
  };

  async function open(request: Request, apiKey: string, apiUrl: string): Promise<Response> {
    if (entries.size >= maxSessions) return jsonRpcError(429, -32000, `too many MCP sessions (${maxSessions}); close one with DELETE`);
    let entry: Entry | undefined;
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize: MAX_BODY_BYTES,
      onsessioninitialized: (sessionId) => {
        if (entry) entries.set(sessionId, entry);
      },
      onsessionclosed: async (sessionId) => {
        if (entry) await end(sessionId, entry);
      },
    });
    const session = new McpSession({
      connection: { apiUrl, apiKey },
      idleTimeoutMs,
      label: `http-${randomUUID()}`,
      onIdle: () => void transport.close(),
      onError: options.onError,
    });
    const server = createMcpServer(session, { maxTimeoutSec: options.maxTimeoutSec });
    entry = { transport, server, session, keyHash: sha256(apiKey) };
    const opened = entry;
    transport.onclose = () => void end(transport.sessionId, opened).catch((error: unknown) => options.onError?.(error, 'close MCP session'));
    await server.connect(transport);
    const response = await transport.handleRequest(request);
    // Anything but a successful initialize leaves no session behind.
    if (transport.sessionId === undefined || !entries.has(transport.sessionId)) {
      await server.close().catch(() => undefined);
      await session.close();
    }
    return response;
  }

  return {
    async handle(request, target) {
      const apiKey = presentedApiKey(request.headers);
      if (!apiKey || !options.verifyApiKey(apiKey)) {
        return json(
          401,
          { code: 401, message: 'invalid or missing API key; send it in the X-API-KEY header or as Authorization: Bearer <key>' },
          { 'www-authenticate': 'Bearer' },
        );
      }
      const sessionId = request.headers.get('mcp-session-id');
      if (sessionId === null) {
        if (request.method !== 'POST') return jsonRpcError(400, -32000, 'Bad Request: Mcp-Session-Id header is required');
        return open(request, apiKey, target.apiUrl);
      }
      const entry = entries.get(sessionId);
      // A session answers only the key that opened it; to any other key it does not exist.
      if (!entry || !timingSafeEqual(entry.keyHash, sha256(apiKey))) return jsonRpcError(404, -32001, 'Session not found');
      return entry.transport.handleRequest(request);
    },
    get sessions() {
      return entries.size;
    },
    async close() {
      const open = [...entries.values()];
      entries.clear();
      await Promise.allSettled(open.map(async (e) => {
        await e.session.close();
        await e.transport.close();
      }));
    },
  };
}
