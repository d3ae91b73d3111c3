import type { ApiClient, CallOptions } from './client.js';

/** The scopes a key may carry (the daemon's `auth/scopes.ts`; it refuses any other). */
export const SCOPES = ['sandboxes:create', 'sandboxes:use', 'sandboxes:read', 'templates:build', 'metrics:read', 'admin'] as const;

/** A key as `GET /keys` lists it: never the key itself, a mask. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  mask: string;
  createdAt: string;
  revokedAt: string | null;
  scopes: string[];
  quota: { maxSandboxes?: number; maxTimeoutSec?: number; maxMemoryMB?: number };
}

export interface NewKey {
  name: string;
  scopes: string[];
  quota?: ApiKeyInfo['quota'];
}

/** Key management (admin keys only; any other key gets a 403 naming the scope). */
export const listKeys = (api: ApiClient, options?: CallOptions) => api.json<ApiKeyInfo[]>('/keys', options);

/** Creates a key: the answer holds the key itself, this once. */
export const createKey = (api: ApiClient, key: NewKey, options?: CallOptions) =>
  api.json<ApiKeyInfo & { key: string }>('/keys', { ...options, method: 'POST', body: key });

export const revokeKey = (api: ApiClient, id: string, options?: CallOptions) =>
  api.json<undefined>(`/keys/${encodeURIComponent(id)}`, { ...options, method: 'DELETE' });
