import type { SandboxdConnection } from '@sandboxd/mcp';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { ApiKeyInfo, CreateKeyOptions, KeyChange } from '../auth/api-keys.js';

/** What `sandboxd keys` does with keys, through the daemon's `/keys` API or its database. */
export interface KeyManager {
  create(name: string, options: CreateKeyOptions): Promise<ApiKeyInfo & { key: string }>;
  list(): Promise<ApiKeyInfo[]>;
  /** False when no active key has that id. */
  revoke(id: string): Promise<boolean>;
  /** Undefined when no active key has that id. */
  update(id: string, change: KeyChange): Promise<ApiKeyInfo | undefined>;
}

const CALL_MS = 30_000;

/** The daemon's key management API (`/keys`, admin keys) with the connection's key. */
export function restKeyManager(connection: SandboxdConnection): KeyManager {
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    let res: Response;
    try {
      res = await fetch(new URL(path, connection.apiUrl), {
        method,
        headers: { 'X-API-KEY': connection.apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(CALL_MS),
      });
    } catch (error) {
      throw new SandboxdError(ErrorCode.SANDBOX_UNREACHABLE, `the daemon at ${connection.apiUrl} did not answer: ${(error as Error).message}`, { cause: error });
    }
    const text = await res.text();
    const json: unknown = text === '' ? undefined : JSON.parse(text);
    if (res.status === 404 && (json as { error_code?: string } | undefined)?.error_code === ErrorCode.API_KEY_NOT_FOUND) return { status: 404, json };
    if (!res.ok) {
      const { message, error_code: code } = (json ?? {}) as { message?: string; error_code?: ErrorCode };
      throw new SandboxdError(code ?? ErrorCode.INTERNAL, `the daemon refused ${method} ${path} (${res.status}): ${message ?? res.statusText}`);
    }
    return { status: res.status, json };
  };
  return {
    create: async (name, options) => (await call('POST', '/keys', { name, ...options })).json as ApiKeyInfo & { key: string },
    list: async () => (await call('GET', '/keys')).json as ApiKeyInfo[],
    revoke: async (id) => (await call('DELETE', `/keys/${encodeURIComponent(id)}`)).status === 204,
    update: async (id, change) => {
      const res = await call('PATCH', `/keys/${encodeURIComponent(id)}`, change);
      return res.status === 404 ? undefined : (res.json as ApiKeyInfo);
    },
  };
}

/** True when the daemon at `apiUrl` answers its health check within `timeoutMs`. */
export async function daemonAnswers(apiUrl: string, timeoutMs = 3000): Promise<boolean> {
  try {
    const res = await fetch(new URL('/health', apiUrl), { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.status === 204;
  } catch {
    return false;
  }
}
