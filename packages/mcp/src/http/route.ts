import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { createMcpHttpHandler, type McpHttpHandler, type McpHttpHandlerOptions } from './handler.js';

/** The part of a Hono context the route reads (structural, so this package needs no Hono). */
export interface RouteContext {
  req: { raw: Request };
  /** `@hono/node-server` puts the Node request here as `incoming`. */
  env: unknown;
}

interface NodeBindings {
  incoming?: { socket?: { localAddress?: string; localPort?: number } };
}

/**
 * The daemon's own address as seen on the connection that carried the request: the MCP tools
 * call the REST API there, so no client-chosen Host header ever steers where they go.
 */
export function localApiUrl(c: RouteContext): string {
  const socket = (c.env as NodeBindings | undefined)?.incoming?.socket;
  const address = socket?.localAddress;
  const port = socket?.localPort;
  if (!address || !port) throw new SandboxdError(ErrorCode.INTERNAL, 'the MCP endpoint needs a Node HTTP connection to learn the daemon address');
  const host = address.startsWith('::ffff:') ? address.slice(7) : address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * A Hono handler for `app.all('/mcp', …)`: the Streamable HTTP MCP endpoint, authenticating by
 * itself (`X-API-KEY` or `Authorization: Bearer`), so register it before the REST key check.
 *
 * @example
 * app.all('/mcp', mcpRoute({ verifyApiKey: (key) => apiKeys.verify(key) }));
 */
export function mcpRoute(options: McpHttpHandlerOptions): ((c: RouteContext) => Promise<Response>) & { handler: McpHttpHandler } {
  const handler = createMcpHttpHandler(options);
  // Read only when a session opens: an unauthenticated request never gets that far.
  const route = (c: RouteContext): Promise<Response> =>
    handler.handle(c.req.raw, {
      get apiUrl() {
        return localApiUrl(c);
      },
    });
  return Object.assign(route, { handler });
}
