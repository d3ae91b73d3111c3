/** Request bodies of the code-interpreter API, validated at the edge (E2B's messages). */
import { z } from 'zod';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const optionalString = (key: string) => z.string({ error: `${key} must be a string` }).nullish().transform((v) => v ?? undefined);

export const ExecuteBody = z.object({
  code: z.string({ error: 'code must be a string' }),
  context_id: optionalString('context_id'),
  language: optionalString('language'),
  env_vars: z
    .record(z.string(), z.unknown(), { error: 'env_vars must be an object' })
    .optional()
    .transform((vars, ctx) => {
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(vars ?? {})) {
        if (!ENV_NAME.test(key)) {
          ctx.addIssue({ code: 'custom', message: `invalid environment variable name: ${key}` });
          return z.NEVER;
        }
        env[key] = String(value);
      }
      return env;
    }),
});
export type ExecuteBody = z.output<typeof ExecuteBody>;

export const CreateContextBody = z.object({ language: optionalString('language'), cwd: optionalString('cwd') });

/** Parses a JSON object body (empty: `{}`) with `schema`; the first problem becomes a 400. */
export function parseBody<T extends z.ZodType>(schema: T, text: string): z.output<T> {
  let body: unknown = {};
  if (text.trim() !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      throw new SandboxdError(ErrorCode.BAD_REQUEST, 'Request body is not valid JSON');
    }
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new SandboxdError(ErrorCode.BAD_REQUEST, 'Request body must be a JSON object');
  }
  const result = schema.safeParse(body);
  if (!result.success) throw new SandboxdError(ErrorCode.BAD_REQUEST, result.error.issues[0]?.message ?? 'invalid request body');
  return result.data;
}
