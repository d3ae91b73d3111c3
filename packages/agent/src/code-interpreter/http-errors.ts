/** The one place code-interpreter failures become responses: E2B's plain-text bodies. */
import type { Context } from 'hono';
import { SandboxdError } from '@sandboxd/protocol';

export function errorResponse(c: Context, error: unknown): Response {
  const e = SandboxdError.from(error);
  return c.body(e.message, e.status as 400, { 'content-type': 'text/plain; charset=utf-8' });
}
