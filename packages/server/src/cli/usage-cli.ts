import type { SandboxdConnection } from '@sandboxd/mcp';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { formatTable } from './sandbox-format.js';

/** One key's row of `GET /usage`. */
export interface UsageRow {
  keyId: string | null;
  keyName: string | null;
  sandboxes: number;
  sandboxSeconds: number;
  cpuSeconds: number;
  memoryGiBSeconds: number;
  executions: number;
  egressBytes: number;
  ingressBytes: number;
}

export interface UsageAnswer {
  start: string;
  end: string;
  usage: UsageRow[];
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A `--since`/`--until` value as unix seconds: a duration back from `nowMs` (`90s`, `30m`, `6h`,
 * `7d`, `2w`) or a date (`2026-12-01`, RFC 3339); BAD_REQUEST naming the flag otherwise.
 */
export function parseSince(flag: string, raw: string, nowMs: number): number {
  const duration = /^(\d+)([smhdw])$/.exec(raw.trim());
  if (duration) return nowMs / 1000 - Number(duration[1]) * UNITS[duration[2]!]!;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `${flag} takes a duration back from now (30m, 6h, 7d) or a date (2026-12-01T00:00:00Z), got "${raw}"`);
  return ms / 1000;
}

const round = (n: number, digits: number): string => (Math.round(n * 10 ** digits) / 10 ** digits).toFixed(digits);

/** `sandboxd usage` as a table, one row per key. */
export function usageTable(answer: UsageAnswer): string {
  const table = formatTable(
    ['KEY', 'NAME', 'SANDBOXES', 'SANDBOX-S', 'CPU-S', 'MEM-GIB-S', 'EXECUTIONS', 'EGRESS-BYTES', 'INGRESS-BYTES'],
    answer.usage.map((u) => [
      u.keyId ?? '(no owner)',
      u.keyName ?? '-',
      String(u.sandboxes),
      round(u.sandboxSeconds, 1),
      round(u.cpuSeconds, 2),
      round(u.memoryGiBSeconds, 3),
      String(u.executions),
      String(u.egressBytes),
      String(u.ingressBytes),
    ]),
  );
  return `usage from ${answer.start} to ${answer.end}\n${table}`;
}

/** Asks the daemon's `GET /usage` with the connection's key (admin keys see every key). */
export async function fetchUsage(connection: SandboxdConnection, query: { startSec?: number; endSec?: number; keyId?: string }, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<UsageAnswer> {
  const url = new URL('/usage', connection.apiUrl);
  if (query.startSec !== undefined) url.searchParams.set('start', String(Math.floor(query.startSec)));
  if (query.endSec !== undefined) url.searchParams.set('end', String(Math.ceil(query.endSec)));
  if (query.keyId !== undefined) url.searchParams.set('keyId', query.keyId);
  const signals = [options.signal, AbortSignal.timeout(options.timeoutMs ?? 30_000)].filter((s): s is AbortSignal => s !== undefined);
  let res: Response;
  try {
    res = await fetch(url, { headers: { 'X-API-KEY': connection.apiKey }, signal: AbortSignal.any(signals) });
  } catch (error) {
    throw new SandboxdError(ErrorCode.SANDBOX_UNREACHABLE, `the daemon at ${connection.apiUrl} did not answer (is it running? \`sandboxd start\`): ${(error as Error).message}`, { cause: error });
  }
  const body = (await res.json().catch(() => ({}))) as Partial<UsageAnswer> & { message?: string };
  if (!res.ok) {
    const code = res.status === 401 ? ErrorCode.UNAUTHENTICATED : res.status === 403 ? ErrorCode.FORBIDDEN : ErrorCode.BAD_REQUEST;
    throw new SandboxdError(code, `the daemon refused the usage query (${res.status}): ${body.message ?? res.statusText}`);
  }
  return body as UsageAnswer;
}
