import type { Db } from '../store/database.js';
import type { UsageAmounts, UsageCursor } from './rollup.js';

/** One per-sandbox-per-minute rollup to add. */
export interface MinuteRow extends UsageAmounts {
  sandboxId: string;
  keyId: string | null;
  /** Unix seconds of the minute's start. */
  minute: number;
}

/** Usage of one key over a query's range. */
export interface KeyUsage extends UsageAmounts {
  /** null: sandboxes created before ownership existed. */
  keyId: string | null;
  /** Sandboxes that used anything in the range. */
  sandboxes: number;
}

export interface UsageQuery {
  /** Unix seconds, inclusive (minutes starting at or after it). */
  startSec: number;
  /** Unix seconds, exclusive. */
  endSec: number;
  /** Only this key's usage. */
  keyId?: string;
}

/** The `usage_minutes` and `usage_cursors` tables (migration in store/database.ts). */
export interface UsageStore {
  /** Adds the rows into their minutes and writes the cursors, in one transaction. */
  commit(rows: MinuteRow[], cursors: Map<string, UsageCursor>, dropCursors: string[]): void;
  cursor(sandboxId: string): UsageCursor | undefined;
  /** Sandboxes that have a cursor. */
  cursorIds(): string[];
  query(q: UsageQuery): KeyUsage[];
}

interface CursorRow {
  at: number;
  cpu_nanos: number;
  egress_bytes: number;
  ingress_bytes: number;
}

interface KeyRow {
  key_id: string | null;
  sandboxes: number;
  sandbox_seconds: number;
  cpu_seconds: number;
  memory_gib_seconds: number;
  executions: number;
  egress_bytes: number;
  ingress_bytes: number;
}

export function createUsageStore(db: Db): UsageStore {
  const upsert = db.prepare(
    `INSERT INTO usage_minutes (sandbox_id, key_id, minute, sandbox_seconds, cpu_seconds, memory_gib_seconds, executions, egress_bytes, ingress_bytes)
     VALUES (@sandboxId, @keyId, @minute, @sandboxSeconds, @cpuSeconds, @memoryGiBSeconds, @executions, @egressBytes, @ingressBytes)
     ON CONFLICT (sandbox_id, minute) DO UPDATE SET
       sandbox_seconds = sandbox_seconds + excluded.sandbox_seconds,
       cpu_seconds = cpu_seconds + excluded.cpu_seconds,
       memory_gib_seconds = memory_gib_seconds + excluded.memory_gib_seconds,
       executions = executions + excluded.executions,
       egress_bytes = egress_bytes + excluded.egress_bytes,
       ingress_bytes = ingress_bytes + excluded.ingress_bytes`,
  );
  const putCursor = db.prepare(
    `INSERT INTO usage_cursors (sandbox_id, at, cpu_nanos, egress_bytes, ingress_bytes) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (sandbox_id) DO UPDATE SET at = excluded.at, cpu_nanos = excluded.cpu_nanos, egress_bytes = excluded.egress_bytes, ingress_bytes = excluded.ingress_bytes`,
  );
  const dropCursor = db.prepare('DELETE FROM usage_cursors WHERE sandbox_id = ?');
  const getCursor = db.prepare<[string], CursorRow>('SELECT at, cpu_nanos, egress_bytes, ingress_bytes FROM usage_cursors WHERE sandbox_id = ?');
  const allCursors = db.prepare<[], { sandbox_id: string }>('SELECT sandbox_id FROM usage_cursors');
  const select = `SELECT key_id, COUNT(DISTINCT sandbox_id) AS sandboxes, SUM(sandbox_seconds) AS sandbox_seconds, SUM(cpu_seconds) AS cpu_seconds,
       SUM(memory_gib_seconds) AS memory_gib_seconds, SUM(executions) AS executions, SUM(egress_bytes) AS egress_bytes,
       SUM(ingress_bytes) AS ingress_bytes
     FROM usage_minutes WHERE minute >= ? AND minute < ?`;
  const byKey = db.prepare<[number, number], KeyRow>(`${select} GROUP BY key_id ORDER BY key_id`);
  const oneKey = db.prepare<[number, number, string], KeyRow>(`${select} AND key_id = ? GROUP BY key_id`);

  const commit = db.transaction((rows: MinuteRow[], cursors: Map<string, UsageCursor>, drop: string[]) => {
    for (const row of rows) upsert.run(row);
    for (const [id, c] of cursors) putCursor.run(id, Math.round(c.at), Math.round(c.cpuNanos), Math.round(c.egressBytes), Math.round(c.ingressBytes));
    for (const id of drop) dropCursor.run(id);
  });

  return {
    commit: (rows, cursors, drop) => commit(rows, cursors, drop),
    cursor(sandboxId) {
      const row = getCursor.get(sandboxId);
      return row === undefined ? undefined : { at: row.at, cpuNanos: row.cpu_nanos, egressBytes: row.egress_bytes, ingressBytes: row.ingress_bytes };
    },
    cursorIds: () => allCursors.all().map((r) => r.sandbox_id),
    query(q) {
      const startMinute = Math.floor(q.startSec / 60) * 60;
      const rows = q.keyId === undefined ? byKey.all(startMinute, q.endSec) : oneKey.all(startMinute, q.endSec, q.keyId);
      return rows.map((r) => ({
        keyId: r.key_id,
        sandboxes: r.sandboxes,
        sandboxSeconds: r.sandbox_seconds,
        cpuSeconds: r.cpu_seconds,
        memoryGiBSeconds: r.memory_gib_seconds,
        executions: r.executions,
        egressBytes: r.egress_bytes,
        ingressBytes: r.ingress_bytes,
      }));
    },
  };
}
