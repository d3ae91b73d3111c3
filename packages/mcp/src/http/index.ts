// User API: the MCP server's Streamable HTTP transport, mounted by the daemon at /mcp.
export { mcpRoute, localApiUrl } from './route.js';
export type { RouteContext } from './route.js';
export { createMcpHttpHandler, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_MAX_SESSIONS, MAX_BODY_BYTES } from './handler.js';
export type { McpHttpHandler, McpHttpHandlerOptions } from './handler.js';
// Integrator API
export { presentedApiKey } from './auth.js';
