import type { ApiClient, CallOptions } from './client.js';
import type { ListedSandbox, LogEntry, SandboxDetail, SandboxMetric } from './types.js';

const id = (sandboxId: string) => encodeURIComponent(sandboxId);

/** Running and paused sandboxes, newest first. */
export const listSandboxes = (api: ApiClient, options?: CallOptions) =>
  api.json<ListedSandbox[]>('/v2/sandboxes?state=running,paused&limit=100', options);

export const getSandbox = (api: ApiClient, sandboxId: string, options?: CallOptions) =>
  api.json<SandboxDetail>(`/sandboxes/${id(sandboxId)}`, options);

/** The latest metric of each sandbox (`GET /sandboxes/metrics`); absent ids have none yet. */
export async function latestMetrics(api: ApiClient, sandboxIds: string[], options?: CallOptions): Promise<Record<string, SandboxMetric>> {
  if (sandboxIds.length === 0) return {};
  const query = new URLSearchParams({ sandbox_ids: sandboxIds.join(',') });
  const body = await api.json<{ sandboxes: Record<string, SandboxMetric> }>(`/sandboxes/metrics?${query}`, options);
  return body.sandboxes;
}

/** The metrics time series of one sandbox between two unix times (seconds). */
export function metricsSeries(api: ApiClient, sandboxId: string, range: { startSec: number; endSec: number }, options?: CallOptions) {
  const query = new URLSearchParams({ start: String(range.startSec), end: String(range.endSec) });
  return api.json<SandboxMetric[]>(`/sandboxes/${id(sandboxId)}/metrics?${query}`, options);
}

/** Log entries from `cursorMs` on (inclusive), oldest first. */
export async function sandboxLogs(api: ApiClient, sandboxId: string, cursorMs: number | undefined, options?: CallOptions): Promise<LogEntry[]> {
  const query = new URLSearchParams({ direction: 'forward', limit: '1000' });
  if (cursorMs !== undefined) query.set('cursor', String(cursorMs));
  const body = await api.json<{ logs: LogEntry[] }>(`/v2/sandboxes/${id(sandboxId)}/logs?${query}`, options);
  return body.logs;
}

export const killSandbox = (api: ApiClient, sandboxId: string, options?: CallOptions) =>
  api.json<void>(`/sandboxes/${id(sandboxId)}`, { ...options, method: 'DELETE' });

export const pauseSandbox = (api: ApiClient, sandboxId: string, options?: CallOptions) =>
  api.json<void>(`/sandboxes/${id(sandboxId)}/pause`, { ...options, method: 'POST' });

/** Resumes a paused sandbox as the SDK's `Sandbox.connect` does, with E2B's default timeout. */
export const resumeSandbox = (api: ApiClient, sandboxId: string, options?: CallOptions) =>
  api.json<unknown>(`/v2/sandboxes/${id(sandboxId)}/connect`, { ...options, method: 'POST', body: { timeout: 300 } });
