// User API: sandboxd's MCP server (tools over the daemon's public API). Transports: ./stdio, ./http.
export { createMcpServer, MCP_SERVER_NAME, TOOL_NAMES } from './server.js';
export type { McpServerOptions } from './server.js';
export { McpSession, CODE_LANGUAGES, MCP_METADATA_KEY } from './session.js';
export type { McpSessionOptions, CreateSandboxInput, CodeLanguage } from './session.js';
export { sdkOptions } from './connection.js';
export type { SandboxdConnection } from './connection.js';
// Integrator API
export { executionResult, fileContent } from './content.js';
export { IdleTimer } from './idle-timer.js';
