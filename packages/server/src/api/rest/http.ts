import type { Context } from 'hono';
import type { z } from 'zod';
import { ErrorCode, SandboxdError, toE2bErrorBody } from '@sandboxd/protocol';

/** E2B's error body (`{code: <status>, message}`) for a SandboxdError, with that status. */
export function errorResponse(c: Context, error: SandboxdError): Response {
  return c.json(toE2bErrorBody(error), error.status as 400);
}

/**
 * Reads a JSON body and validates it. An empty body is `{}`; malformed JSON and schema
 * violations become BAD_REQUEST naming the field.
 */
export async function readBody<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const text = await c.req.text();
  let value: unknown = {};
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `request body is not valid JSON: ${(error as Error).message}`);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`);
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `invalid request body: ${issues.join('; ')}`);
  }
  return parsed.data;
}
