import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { executionResult } from '../content.js';
import { CODE_LANGUAGES, type McpSession } from '../session.js';
import { clip, sandboxIdArg } from './shared.js';

/** `run_code`: the code interpreter, with state kept per language and named context. */
export function registerCodeTool(server: McpServer, session: McpSession): void {
  server.registerTool(
    'run_code',
    {
      title: 'Run code',
      description:
        'Runs code in a Jupyter-style kernel inside the sandbox; variables, imports and files persist between calls in the same context. Returns stdout/stderr, rich results (matplotlib charts and images as PNG images; text, HTML and JSON as text) and the error with its traceback when the code raised one.',
      inputSchema: {
        code: z.string().min(1).max(1024 * 1024).describe('the code to run'),
        language: z.enum(CODE_LANGUAGES).default('python').describe('language of the code (default python)'),
        context: z
          .string()
          .min(1)
          .max(64)
          .optional()
          .describe("name of an execution context with its own state; created on first use (default: the language's shared context)"),
        timeout: z.number().int().min(1).max(3600).default(300).describe('seconds before the execution is interrupted (default 300)'),
        sandboxId: sandboxIdArg,
      },
    },
    async ({ code, language, context: contextName, timeout, sandboxId }, extra) =>
      session.use(
        sandboxId,
        async (sandbox) => {
          const context = await session.context(sandbox, language, contextName);
          const timeoutMs = timeout * 1000;
          const execution = context ? await sandbox.runCode(code, { context, timeoutMs }) : await sandbox.runCode(code, { language, timeoutMs });
          execution.logs.stdout = [clip(execution.logs.stdout.join(''))];
          execution.logs.stderr = [clip(execution.logs.stderr.join(''))];
          return executionResult(execution);
        },
        { signal: extra.signal },
      ),
  );
}
