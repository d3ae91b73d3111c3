/**
 * Every E2B error body the daemon builds by hand (the proxy and the daemon's own listener, which
 * answer outside the Hono app), in one place. Each has the shape the official SDKs parse: E2B's
 * `{code: <status>, message}`, plus `sandboxId`/`port` where E2B's edge sends them (the SDK's
 * `isRunning()` relies on the 502 of an unknown sandbox).
 */
import { toE2bErrorBody, type SandboxdError } from '@sandboxd/protocol';

export interface E2bBody {
  status: number;
  /** JSON text. */
  body: string;
}

const body = (status: number, fields: Record<string, unknown>): E2bBody => ({ status, body: JSON.stringify({ ...fields, code: status }) });

/** An error of the registry, as the REST routes answer it. */
export const fromError = (error: SandboxdError): E2bBody => ({ status: error.status, body: JSON.stringify(toE2bErrorBody(error)) });

/** A request the proxy cannot route (bad port header, malformed target, unsigned /files). */
export const routeError = (status: number, message: string): E2bBody => body(status, { message });

/** An unknown, killed or expired sandbox. */
export const sandboxNotFound = (sandboxId: string): E2bBody => body(502, { sandboxId, message: 'The sandbox was not found' });

/** The sandbox runs, but nothing answers on the port. */
export const portNotOpen = (sandboxId: string, port: number): E2bBody =>
  body(502, { sandboxId, message: 'The sandbox is running but port is not open', port });

/** A secured sandbox's port reached without (or with a wrong) traffic access token. */
export const trafficDenied = (sandboxId: string, message: string): E2bBody => body(403, { sandboxId, message });

/** New requests while the daemon shuts down. */
export const shuttingDown = (): E2bBody => body(503, { message: 'the daemon is shutting down' });

/** A request the daemon's listener failed to handle at all. */
export const malformedRequest = (): E2bBody => body(400, { message: 'malformed request' });
