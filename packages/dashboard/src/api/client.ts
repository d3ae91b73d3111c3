import { ApiError, errorFromResponse } from './api-error.js';

/** Options of every call: its own abort signal and a deadline (ms, 0 = none). */
export interface CallOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface RequestOptions extends CallOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The daemon's public API as the SDKs use it: same origin, the key in `X-API-KEY`, never in a URL. */
export interface ApiClient {
  /** A 2xx response (its body unread), or an ApiError. */
  request(path: string, options?: RequestOptions): Promise<Response>;
  /** A 2xx response's JSON body (undefined for 204), or an ApiError. */
  json<T>(path: string, options?: RequestOptions): Promise<T>;
}

export const DEFAULT_TIMEOUT_MS = 15_000;

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** The signal of one call: the caller's, linked with its deadline. */
export function callSignal(options: CallOptions): AbortSignal | undefined {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const signals = [options.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter(
    (s): s is AbortSignal => s !== undefined,
  );
  return signals.length === 0 ? undefined : AbortSignal.any(signals);
}

/** Runs one fetch, turning network failures, aborts and non-2xx answers into ApiErrors. */
export async function send(fetchImpl: FetchLike, url: string, init: RequestInit, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetchImpl(url, init);
  } catch (error) {
    const name = (error as { name?: string } | null)?.name;
    if (name === 'AbortError' || name === 'TimeoutError') throw new ApiError(0, `${what}: ${name === 'TimeoutError' ? 'timed out' : 'canceled'}`, name, { cause: error });
    throw new ApiError(0, `${what}: the daemon cannot be reached (${(error as Error).message})`, undefined, { cause: error });
  }
  if (!res.ok) throw await errorFromResponse(res, what);
  return res;
}

/**
 * A client of the daemon's REST API with one API key.
 *
 * @example
 * const api = createApiClient('e2b_…');
 * const sandboxes = await api.json<ListedSandbox[]>('/v2/sandboxes');
 */
export function createApiClient(apiKey: string, fetchImpl: FetchLike = (input, init) => fetch(input, init)): ApiClient {
  const request = (path: string, options: RequestOptions = {}): Promise<Response> => {
    const headers: Record<string, string> = { 'X-API-KEY': apiKey, ...options.headers };
    const init: RequestInit = { method: options.method ?? 'GET', headers, credentials: 'omit', cache: 'no-store' };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const signal = callSignal(options);
    if (signal !== undefined) init.signal = signal;
    return send(fetchImpl, path, init, `${init.method} ${path.split('?')[0]}`);
  };
  return {
    request,
    async json<T>(path: string, options?: RequestOptions): Promise<T> {
      const res = await request(path, options);
      if (res.status === 204) return undefined as T;
      return (await res.json()) as T;
    },
  };
}
