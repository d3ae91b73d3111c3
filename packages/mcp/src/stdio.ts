import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { SandboxdConnection } from './connection.js';
import { createMcpServer } from './server.js';
import { McpSession } from './session.js';

export interface StdioServerOptions {
  connection: SandboxdConnection;
  /** After this long without a tool call the session's sandboxes are killed (0: never). */
  idleTimeoutMs: number;
  stdin?: Readable;
  stdout?: Writable;
  /** Ends the session as stdin's end does (SIGTERM, say). */
  signal?: AbortSignal;
  /** Background failures; stdout belongs to the protocol, so this is the only place to report them. */
  onError?: (error: unknown, what: string) => void;
}

/**
 * Serves one MCP session over stdin/stdout until stdin ends, the client closes or `signal`
 * aborts; then kills the session's sandboxes and resolves.
 *
 * @example
 * await runStdioServer({ connection: { apiUrl, apiKey }, idleTimeoutMs: 600_000 });
 */
export async function runStdioServer(options: StdioServerOptions): Promise<void> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const session = new McpSession({
    connection: options.connection,
    idleTimeoutMs: options.idleTimeoutMs,
    label: `stdio-${process.pid}`,
    onError: options.onError,
  });
  const server = createMcpServer(session);
  const transport = new StdioServerTransport(stdin, stdout);
  const ended = new Promise<void>((resolve) => {
    const end = (): void => resolve();
    stdin.once('end', end);
    stdin.once('close', end);
    transport.onclose = end;
    if (options.signal?.aborted) end();
    else options.signal?.addEventListener('abort', end, { once: true });
  });
  await server.connect(transport);
  await ended;
  await session.close();
  await server.close().catch(() => undefined);
}
