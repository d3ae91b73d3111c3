/**
 * The one place envd's plain-HTTP failures become responses: envd's `{"code": <status>, "message"}`
 * body (what the SDKs parse), for every route of the envd app that is not a Connect RPC.
 */
import type { ServerResponse } from 'node:http';
import { SandboxdError } from '@sandboxd/protocol';

/** envd's REST error body. */
export function envdErrorBody(error: SandboxdError): { code: number; message: string } {
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

/** The same body written to a Node response (routes that stream to the socket themselves). */
export function sendError(res: ServerResponse, error: SandboxdError): void {
  sendJson(res, error.status, envdErrorBody(error));
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
