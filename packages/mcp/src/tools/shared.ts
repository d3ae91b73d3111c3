import { z } from 'zod';

/** Optional `sandboxId` argument every sandbox tool takes: without it the session's default sandbox serves. */
export const sandboxIdArg = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,64}$/, 'a sandbox id as returned by create_sandbox')
  .optional()
  .describe("id of a sandbox (from create_sandbox); omit it to use this session's default sandbox, created on first use");

/** Absolute or home-relative path inside the sandbox. */
export const pathArg = z.string().min(1).max(4096).refine((p) => !p.includes('\u0000'), 'must not contain NUL');

/** Most characters of one output stream put into a tool result; the rest is cut with a note. */
export const MAX_OUTPUT_CHARS = 256 * 1024;

/** `value` cut to `MAX_OUTPUT_CHARS`, saying how much was left out. */
export function clip(value: string, max = MAX_OUTPUT_CHARS): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}\n[… ${value.length - max} more characters cut]`;
}
