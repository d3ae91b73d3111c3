/**
 * The one place envd's plain-HTTP failures become responses: envd's `{"code": <status>, "message"}`
 * body (what the SDKs parse), for every route of the envd app that is not a Connect RPC.
 */
import { SandboxdError } from '@sandboxd/protocol';

/** envd's REST error body. */
function envdErrorBody(error: SandboxdError): { code: number; message: string } {
  return { code: error.status, message: error.message };
}

export function errorResponse(error: unknown): Response {
  const e = SandboxdError.from(error);
  return jsonResponse(e.status, envdErrorBody(e));
}

/** A JSON response as envd sends it (`application/json; charset=utf-8`). */
export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}
