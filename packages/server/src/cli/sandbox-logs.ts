import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { SandboxdConnection } from '@sandboxd/mcp';
import { ApiClient, ConnectionConfig, type components } from 'e2b';
import { sdkOptions, toCliError } from './sandbox-client.js';
import type { Output } from './sandbox-lifecycle.js';

export type LogEntry = components['schemas']['SandboxLogEntry'];

/** How often `logs --follow` asks for new entries. */
export const FOLLOW_INTERVAL_MS = 1000;
const PAGE = 1000;

/**
 * Where the next logs request starts. The API's cursor is inclusive (entries at or after `ms`), so
 * the entries already printed at exactly `ms` are skipped by count.
 */
export interface LogCursor {
  ms: number | undefined;
  seenAtMs: number;
}

/** The entries of `page` (fetched from `cursor`) not printed yet, and the cursor after them. */
export function advanceCursor(page: readonly LogEntry[], cursor: LogCursor): { fresh: LogEntry[]; cursor: LogCursor } {
  let skip = cursor.ms === undefined ? 0 : cursor.seenAtMs;
  let { ms, seenAtMs } = cursor;
  const fresh: LogEntry[] = [];
  for (const entry of page) {
    const at = Date.parse(entry.timestamp);
    if (at === cursor.ms && skip > 0) {
      skip--;
      continue;
    }
    fresh.push(entry);
    if (ms === undefined || at > ms) {
      ms = at;
      seenAtMs = 1;
    } else if (at === ms) seenAtMs++;
  }
  return { fresh, cursor: { ms, seenAtMs } };
}

/** One log entry as a line: `2026-01-01T00:00:00.000Z  info   message  key=value …`. */
export function formatLogEntry(entry: LogEntry): string {
  const fields = Object.entries(entry.fields ?? {}).map(([k, v]) => `${k}=${v}`);
  return `${entry.timestamp}  ${entry.level.padEnd(5)}  ${entry.message}${fields.length ? `  ${fields.join(' ')}` : ''}`;
}

class SandboxGone extends Error {}

async function fetchPage(api: ApiClient, sandboxId: string, cursor: LogCursor): Promise<LogEntry[]> {
  const res = await api.api.GET('/v2/sandboxes/{sandboxID}/logs', {
    params: { path: { sandboxID: sandboxId }, query: { direction: 'forward', limit: PAGE, ...(cursor.ms === undefined ? {} : { cursor: cursor.ms }) } },
  });
  if (res.response.status === 404) throw new SandboxGone();
  if (!res.response.ok || !res.data) {
    const message = (res.error as { message?: string } | undefined)?.message ?? res.response.statusText;
    const code = res.response.status === 401 ? ErrorCode.UNAUTHENTICATED : ErrorCode.INTERNAL;
    throw new SandboxdError(code, `logs: the daemon answered ${res.response.status}: ${message}`);
  }
  return res.data.logs ?? [];
}

/**
 * `sandbox logs <id>`: the sandbox's log entries, one per line (`--json`: one JSON object per
 * line). `--follow` keeps polling for new entries until the sandbox is gone or the signal aborts.
 */
export async function sandboxLogs(
  connection: SandboxdConnection,
  sandboxId: string,
  opts: { json?: boolean; follow?: boolean },
  io: Output,
  signal?: AbortSignal,
): Promise<number> {
  const api = new ApiClient(new ConnectionConfig(sdkOptions(connection)));
  let cursor: LogCursor = { ms: undefined, seenAtMs: 0 };
  let first = true;
  try {
    for (;;) {
      // Full pages follow each other at once; a page with nothing new (more than a page of entries
      // at one millisecond) cannot move the cursor, so it ends the round.
      for (let more = true; more && !signal?.aborted; ) {
        const page = await fetchPage(api, sandboxId, cursor);
        const next = advanceCursor(page, cursor);
        for (const entry of next.fresh) io.out(opts.json ? JSON.stringify(entry) : formatLogEntry(entry));
        cursor = next.cursor;
        more = page.length >= PAGE && next.fresh.length > 0;
      }
      first = false;
      if (!opts.follow || signal?.aborted) return 0;
      await sleep(FOLLOW_INTERVAL_MS, undefined, signal ? { signal } : {}).catch(() => undefined);
      if (signal?.aborted) return 0;
    }
  } catch (error) {
    if (error instanceof SandboxGone) {
      if (first) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `no sandbox ${sandboxId} (it never existed, was killed or timed out; see \`sandboxd sandbox list\`)`);
      io.err(`sandboxd: sandbox ${sandboxId} is gone`);
      return 0;
    }
    throw toCliError(error, connection, sandboxId);
  }
}
