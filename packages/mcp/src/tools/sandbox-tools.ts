import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { McpSession } from '../session.js';
import { sandboxIdArg } from './shared.js';

/** `create_sandbox` and `kill_sandbox`. */
export function registerSandboxTools(server: McpServer, session: McpSession, limits: { maxTimeoutSec: number }): void {
  server.registerTool(
    'create_sandbox',
    {
      title: 'Create a sandbox',
      description:
        "Creates an isolated Linux sandbox (gVisor) and returns its id. Other tools take that id as `sandboxId`; the first sandbox of a session is also its default sandbox, used when `sandboxId` is omitted. Sandboxes of this session are killed when the session ends.",
      inputSchema: {
        template: z.string().min(1).max(128).optional().describe('template name or id (default: the code-interpreter template)'),
        timeout: z
          .number()
          .int()
          .min(1)
          .max(limits.maxTimeoutSec)
          .optional()
          .describe('seconds the sandbox lives without use; each tool call on it extends it again (default: the session idle timeout)'),
        internet: z.boolean().optional().describe('allow outbound internet access (default true)'),
      },
      outputSchema: { sandboxId: z.string(), isDefault: z.boolean() },
    },
    async ({ template, timeout, internet }, extra) => {
      const sandbox = await session.create({ template, timeoutSec: timeout, internet }, { signal: extra.signal });
      const isDefault = session.defaultSandboxId === sandbox.sandboxId;
      return {
        content: [{ type: 'text', text: `created sandbox ${sandbox.sandboxId}${isDefault ? " (this session's default sandbox)" : ''}` }],
        structuredContent: { sandboxId: sandbox.sandboxId, isDefault },
      };
    },
  );

  server.registerTool(
    'kill_sandbox',
    {
      title: 'Kill a sandbox',
      description: "Kills a sandbox now (its processes and files are gone). Without `sandboxId` it kills this session's default sandbox; the next call then creates a new default sandbox.",
      inputSchema: { sandboxId: sandboxIdArg },
      annotations: { destructiveHint: true, idempotentHint: true },
    },
    async ({ sandboxId }) => {
      const { sandboxId: id, killed } = await session.kill(sandboxId);
      return { content: [{ type: 'text', text: killed ? `killed sandbox ${id}` : `sandbox ${id} was not running` }] };
    },
  );
}
