import { ENVD_PORT, Headers, signatureMatches } from '@sandboxd/protocol';
import type { FileOperation } from '@sandboxd/protocol';
import type { SandboxRecord } from '../sandboxes/sandbox-record.js';

/** Where one incoming request goes. */
export type Route =
  | { kind: 'rest' }
  /**
   * `record` is undefined when the sandbox is unknown or no longer running (→ 502). `signedFile`:
   * a signed `/files` URL, served on the daemon's own origin.
   */
  | { kind: 'sandbox'; sandboxId: string; port: number; record: SandboxRecord | undefined; signedFile?: true }
  | { kind: 'error'; status: number; message: string };

/** The part of the sandbox registry routing needs. */
export interface RouteLookup {
  find(sandboxId: string): SandboxRecord | undefined;
  running(): SandboxRecord[];
  /** A sandbox `find` does not know as running: resumed when it is paused with autoResume (else undefined). */
  wake?(sandboxId: string): Promise<SandboxRecord | undefined>;
}

export interface RouteRequest {
  method?: string | undefined;
  url?: string | undefined;
  headers: Record<string, string | string[] | undefined>;
}

const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

function parsePort(value: string): number | undefined {
  if (!/^\d{1,5}$/.test(value)) return undefined;
  const port = Number(value);
  return port >= 1 && port <= 65535 ? port : undefined;
}

const toSandbox = (lookup: RouteLookup, sandboxId: string, port: number): Route => ({
  kind: 'sandbox',
  sandboxId,
  port,
  record: /^[a-z0-9]+$/.test(sandboxId) ? lookup.find(sandboxId) : undefined,
});

/**
 * Routes a request: `E2b-Sandbox-Id` (+ `E2b-Sandbox-Port`, default envd) always means sandbox
 * traffic; so does `Host: <port>-<sandboxId>.<domain>`; a `/files` request with neither goes to
 * the sandbox whose access token makes its `signature` valid (an unsigned one that names no sandbox is
 * a 400, never routed to some running sandbox). Everything else is REST.
 */
export function resolveRoute(req: RouteRequest, domain: string, lookup: RouteLookup): Route {
  const sandboxHeader = first(req.headers[Headers.sandboxId]);
  if (sandboxHeader !== undefined) {
    const portHeader = first(req.headers[Headers.sandboxPort]);
    const port = portHeader === undefined ? ENVD_PORT : parsePort(portHeader.trim());
    if (port === undefined) {
      return { kind: 'error', status: 400, message: `E2b-Sandbox-Port must be a port number, got ${JSON.stringify(portHeader)}` };
    }
    return toSandbox(lookup, sandboxHeader.trim(), port);
  }

  const host = (first(req.headers.host) ?? '').toLowerCase().replace(/:\d+$/, '');
  const suffix = `.${domain}`;
  if (host.endsWith(suffix)) {
    const match = /^(\d{1,5})-([a-z0-9]+)$/.exec(host.slice(0, -suffix.length));
    const port = match === null ? undefined : parsePort(match[1]!);
    if (match !== null && port !== undefined) return toSandbox(lookup, match[2]!, port);
  }

  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return { kind: 'error', status: 400, message: `malformed request target ${JSON.stringify(req.url)}` };
  }
  if (url.pathname === '/files') {
    // A signed /files URL serves a sandbox's file on the daemon's own origin: registered as a
    // service worker (scope `/`), that file would control /dashboard and read the API key its
    // requests carry. Browsers mark the fetch of a worker script with `Service-Worker: script`.
    if (req.headers['service-worker'] !== undefined) {
      return { kind: 'error', status: 403, message: "a sandbox's file cannot be a service worker on the daemon's origin" };
    }
    return routeSignedFiles(req.method ?? 'GET', url.searchParams, lookup);
  }
  return { kind: 'rest' };
}

function routeSignedFiles(method: string, params: URLSearchParams, lookup: RouteLookup): Route {
  const signature = params.get('signature');
  if (signature !== null) {
    const operation: FileOperation = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
    const expirationRaw = params.get('signature_expiration');
    const expiration = expirationRaw === null || expirationRaw === '' ? undefined : Number(expirationRaw);
    const input = { path: params.get('path') ?? '', operation, username: params.get('username') ?? '', expiration };
    for (const record of lookup.running()) {
      if (record.accessToken !== null && signatureMatches(signature, { ...input, accessToken: record.accessToken })) {
        return { kind: 'sandbox', sandboxId: record.sandboxId, port: ENVD_PORT, record, signedFile: true };
      }
    }
    return {
      kind: 'error',
      status: 502,
      message: 'no running sandbox matches the signature of this /files URL; the sandbox may have been killed',
    };
  }
  // Never guess the sandbox of an unsigned request (it would reach whichever sandbox is running).
  return {
    kind: 'error',
    status: 400,
    message: 'unsigned /files request names no sandbox: send the E2b-Sandbox-Id header or use the sandbox host',
  };
}
