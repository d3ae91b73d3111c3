import type { ApiClient, CallOptions } from './client.js';

/** Usage per key (`GET /usage`), whatever its shape; the page renders what it finds. */
export const getUsage = (api: ApiClient, query: URLSearchParams, options?: CallOptions) =>
  api.json<unknown>(`/usage${query.size > 0 ? `?${query}` : ''}`, options);
