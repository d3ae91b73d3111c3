import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { McpSession } from './session.js';
import { registerCodeTool } from './tools/code-tool.js';
import { registerCommandTool } from './tools/command-tool.js';
import { registerFileTools } from './tools/file-tools.js';
import { registerSandboxTools } from './tools/sandbox-tools.js';

/** Name the MCP server announces in `initialize`. */
export const MCP_SERVER_NAME = 'sandboxd';

/** Names of every tool the server offers, in registration order. */
export const TOOL_NAMES = ['create_sandbox', 'kill_sandbox', 'run_code', 'run_command', 'read_file', 'write_file', 'list_directory'] as const;

export interface McpServerOptions {
  /** Largest `timeout` accepted by create_sandbox, in seconds (the daemon's SANDBOXD_MAX_TIMEOUT). */
  maxTimeoutSec?: number;
}

/**
 * An MCP server whose tools act on the sandboxes of `session`. Connect it to one transport.
 *
 * @example
 * const server = createMcpServer(session);
 * await server.connect(new StdioServerTransport());
 */
export function createMcpServer(session: McpSession, options: McpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: MCP_SERVER_NAME, version: '0.1.0' },
    {
      instructions:
        'Tools to run code and commands in an isolated sandbox. Without `sandboxId` every tool uses the session\'s default sandbox, created on first use and kept for the whole session (files and kernel state persist); it is killed when the session ends or stays idle.',
    },
  );
  registerSandboxTools(server, session, { maxTimeoutSec: options.maxTimeoutSec ?? 24 * 3600 });
  registerCodeTool(server, session);
  registerCommandTool(server, session);
  registerFileTools(server, session);
  return server;
}
