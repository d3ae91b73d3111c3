import { callSignal, send, type CallOptions, type FetchLike } from './client.js';
import type { EntryInfo, ProcessInfo } from './types.js';

/** envd's port inside every sandbox. */
export const ENVD_PORT = 49983;

/** What reaching one sandbox's envd through the daemon's proxy takes. */
export interface SandboxAccess {
  sandboxId: string;
  /** The sandbox's envd access token (`envdAccessToken` of `GET /sandboxes/{id}`), when it has one. */
  accessToken?: string | undefined;
}

/**
 * Headers routing a request to the sandbox's envd. The API key is never among them: sandbox
 * traffic goes into the sandbox, which is untrusted, and envd has its own token.
 */
export function envdHeaders(access: SandboxAccess): Record<string, string> {
  return {
    'E2b-Sandbox-Id': access.sandboxId,
    'E2b-Sandbox-Port': String(ENVD_PORT),
    ...(access.accessToken ? { 'X-Access-Token': access.accessToken } : {}),
  };
}

/** One unary Connect call (JSON) to envd, e.g. `process.Process/List`. */
export async function connectUnary<T>(access: SandboxAccess, method: string, body: unknown, options: CallOptions = {}, fetchImpl: FetchLike = (i, init) => fetch(i, init)): Promise<T> {
  const init: RequestInit = {
    method: 'POST',
    headers: { ...envdHeaders(access), 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1' },
    body: JSON.stringify(body),
    credentials: 'omit',
    cache: 'no-store',
  };
  const signal = callSignal(options);
  if (signal !== undefined) init.signal = signal;
  const res = await send(fetchImpl, `/${method}`, init, method);
  return (await res.json()) as T;
}

export async function listProcesses(access: SandboxAccess, options?: CallOptions): Promise<ProcessInfo[]> {
  const body = await connectUnary<{ processes?: ProcessInfo[] }>(access, 'process.Process/List', {}, options);
  return body.processes ?? [];
}

export async function listDir(access: SandboxAccess, path: string, options?: CallOptions): Promise<EntryInfo[]> {
  const body = await connectUnary<{ entries?: EntryInfo[] }>(access, 'filesystem.Filesystem/ListDir', { path, depth: 1 }, options);
  return body.entries ?? [];
}

/** A file's bytes (`GET /files` of envd, through the proxy, with the access token in a header). */
export async function downloadFile(access: SandboxAccess, path: string, options: CallOptions = {}, fetchImpl: FetchLike = (i, init) => fetch(i, init)): Promise<Blob> {
  const init: RequestInit = { method: 'GET', headers: envdHeaders(access), credentials: 'omit', cache: 'no-store' };
  const signal = callSignal({ timeoutMs: 0, ...options });
  if (signal !== undefined) init.signal = signal;
  const res = await send(fetchImpl, `/files?${new URLSearchParams({ path })}`, init, `download ${path}`);
  return res.blob();
}
