import { CommandExitError, TimeoutError } from 'e2b';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { McpSession } from '../session.js';
import { clip, pathArg, sandboxIdArg } from './shared.js';

/** `run_command`: a shell command to completion, killed when it outlives its timeout. */
export function registerCommandTool(server: McpServer, session: McpSession): void {
  server.registerTool(
    'run_command',
    {
      title: 'Run a shell command',
      description:
        'Runs a shell command (bash -l -c) in the sandbox and waits for it. Returns stdout, stderr and the exit code; a command still running after `timeout` seconds is killed.',
      inputSchema: {
        command: z.string().min(1).max(256 * 1024).describe('the command line, e.g. "pip install requests && python app.py"'),
        cwd: pathArg.optional().describe('working directory (default the home directory)'),
        envs: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional().describe('extra environment variables'),
        timeout: z.number().int().min(1).max(3600).default(60).describe('seconds before the command is killed (default 60)'),
        sandboxId: sandboxIdArg,
      },
      outputSchema: { stdout: z.string(), stderr: z.string(), exitCode: z.number().int() },
    },
    async ({ command, cwd, envs, timeout, sandboxId }, extra) =>
      session.use(
        sandboxId,
        async (sandbox) => {
          const handle = await sandbox.commands.run(command, { background: true, cwd, envs, timeoutMs: 0, signal: extra.signal });
          let timedOut = false;
          const timer = setTimeout(() => {
            timedOut = true;
            void handle.kill().catch(() => undefined);
          }, timeout * 1000);
          const onAbort = (): void => void handle.kill().catch(() => undefined);
          extra.signal.addEventListener('abort', onAbort, { once: true });
          let stdout: string;
          let stderr: string;
          let exitCode: number;
          try {
            const result = await handle.wait();
            ({ stdout, stderr, exitCode } = result);
          } catch (error) {
            if (!(error instanceof CommandExitError) && !(timedOut && error instanceof TimeoutError)) throw error;
            ({ stdout, stderr } = handle);
            exitCode = error instanceof CommandExitError ? error.exitCode : -1;
          } finally {
            clearTimeout(timer);
            extra.signal.removeEventListener('abort', onAbort);
          }
          const structured = { stdout: clip(stdout), stderr: clip(stderr), exitCode };
          const lines = [`exit code: ${exitCode}${timedOut ? ` (killed after the ${timeout} s timeout)` : ''}`];
          if (structured.stdout) lines.push(`stdout:\n${structured.stdout}`);
          if (structured.stderr) lines.push(`stderr:\n${structured.stderr}`);
          if (timedOut) return { content: [{ type: 'text' as const, text: lines.join('\n') }], isError: true };
          return { content: [{ type: 'text' as const, text: lines.join('\n') }], structuredContent: structured };
        },
        { signal: extra.signal },
      ),
  );
}
