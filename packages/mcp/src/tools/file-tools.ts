import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { fileContent } from '../content.js';
import type { McpSession } from '../session.js';
import { pathArg, sandboxIdArg } from './shared.js';

/** Largest file `read_file` returns. */
export const MAX_READ_BYTES = 10 * 1024 * 1024;

/** `read_file`, `write_file` and `list_directory`. */
export function registerFileTools(server: McpServer, session: McpSession): void {
  server.registerTool(
    'read_file',
    {
      title: 'Read a file',
      description: `Reads a file from the sandbox: UTF-8 text as text, PNG/JPEG/GIF images as images, other bytes as a base64 resource. At most ${MAX_READ_BYTES} bytes.`,
      inputSchema: { path: pathArg.describe('path in the sandbox, e.g. /home/user/out.csv'), sandboxId: sandboxIdArg },
      annotations: { readOnlyHint: true },
    },
    async ({ path, sandboxId }) =>
      session.use(sandboxId, async (sandbox) => {
        const info = await sandbox.files.getInfo(path);
        if (info.type !== 'file') return { content: [{ type: 'text' as const, text: `${path} is a ${info.type ?? 'special file'}, not a file` }], isError: true };
        if (info.size > MAX_READ_BYTES) {
          return { content: [{ type: 'text' as const, text: `${path} has ${info.size} bytes, more than the ${MAX_READ_BYTES} read_file returns; read parts of it with run_command (head, tail, split)` }], isError: true };
        }
        const bytes = await sandbox.files.read(path, { format: 'bytes' });
        return { content: [fileContent(path, bytes)] };
      }),
  );

  server.registerTool(
    'write_file',
    {
      title: 'Write a file',
      description: 'Writes a file in the sandbox (parent directories are created; an existing file is replaced).',
      inputSchema: {
        path: pathArg.describe('path in the sandbox, e.g. /home/user/data.json'),
        content: z.string().max(16 * 1024 * 1024).describe('the file content'),
        encoding: z.enum(['utf8', 'base64']).default('utf8').describe('how `content` is encoded: utf8 text (default) or base64 bytes'),
        sandboxId: sandboxIdArg,
      },
    },
    async ({ path, content, encoding, sandboxId }) => {
      if (encoding === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(content.replace(/\s+/g, ''))) {
        return { content: [{ type: 'text' as const, text: '`content` is not valid base64 (encoding: "base64")' }], isError: true };
      }
      const bytes = encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
      return session.use(sandboxId, async (sandbox) => {
        const written = await sandbox.files.write(path, new Uint8Array(bytes).buffer);
        return { content: [{ type: 'text' as const, text: `wrote ${bytes.length} bytes to ${written.path}` }] };
      });
    },
  );

  server.registerTool(
    'list_directory',
    {
      title: 'List a directory',
      description: 'Lists the entries of a directory in the sandbox (name, type, size), optionally recursing `depth` levels.',
      inputSchema: {
        path: pathArg.default('/home/user').describe('directory in the sandbox (default /home/user)'),
        depth: z.number().int().min(1).max(10).default(1).describe('levels to descend (default 1: the entries themselves)'),
        sandboxId: sandboxIdArg,
      },
      outputSchema: {
        entries: z.array(z.object({ name: z.string(), path: z.string(), type: z.string(), size: z.number(), symlinkTarget: z.string().optional() })),
      },
      annotations: { readOnlyHint: true },
    },
    async ({ path, depth, sandboxId }) =>
      session.use(sandboxId, async (sandbox) => {
        const listed = await sandbox.files.list(path, { depth });
        const entries = listed.map((e) => ({
          name: e.name,
          path: e.path,
          type: String(e.type ?? 'unknown'),
          size: e.size,
          ...(e.symlinkTarget ? { symlinkTarget: e.symlinkTarget } : {}),
        }));
        const lines = entries.map((e) => `${e.type === 'dir' ? 'dir ' : 'file'}  ${String(e.size).padStart(10)}  ${e.path}${e.symlinkTarget ? ` -> ${e.symlinkTarget}` : ''}`);
        return { content: [{ type: 'text' as const, text: lines.length > 0 ? lines.join('\n') : `${path} is empty` }], structuredContent: { entries } };
      }),
  );
}
