/** Request bodies of the code-interpreter API, validated at the edge (E2B's messages). */
import * as z from 'zod/mini';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const optionalString = (key: string) => z.nullish(z.string({ error: `${key} must be a string` }));

export const ExecuteBody = z.object({
  code: z.string({ error: 'code must be a string' }),
  context_id: optionalString('context_id'),
  language: optionalString('language'),
  // The Python SDK sends `env_vars: null` when a run names none.
  env_vars: z.nullish(z.record(z.string(), z.unknown(), { error: 'env_vars must be an object' })),
});
type ExecuteInput = z.output<typeof ExecuteBody>;

/** A validated `/execute` body: env var names checked, values as strings. */
export interface ExecuteRequest {
  code: string;
  context_id: string | undefined;
  language: string | undefined;
  env_vars: Record<string, string>;
}

export function executeRequest(body: ExecuteInput): ExecuteRequest {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(body.env_vars ?? {})) {
    if (!ENV_NAME.test(key)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `invalid environment variable name: ${key}`);
    env[key] = String(value);
  }
  return { code: body.code, context_id: body.context_id ?? undefined, language: body.language ?? undefined, env_vars: env };
}

export const CreateContextBody = z.object({ language: optionalString('language'), cwd: optionalString('cwd') });

/** Parses a JSON object body (empty: `{}`) with `schema`; the first problem becomes a 400. */
export function parseBody<T extends z.ZodMiniType>(schema: T, text: string): z.output<T> {
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
