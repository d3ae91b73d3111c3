import type { Db } from '../store/database.js';
import type { BuildLogEntry } from './build-types.js';

export type BuildStatus = 'waiting' | 'building' | 'ready' | 'error';

export interface BuildReason {
  message: string;
  step?: string;
  logEntries: BuildLogEntry[];
}

/** A build as stored: its log lives in its own table, read on demand. */
export interface StoredBuild {
  buildId: string;
  templateId: string;
  status: BuildStatus;
  reason?: BuildReason;
  createdAt: string;
  finishedAt?: string;
}

/** A template asked for with `POST /v3/templates`, built or not yet. */
export interface StoredRequest {
  templateId: string;
  name: string;
  tags: string[];
  cpuCount: number;
  memoryMB: number;
}

/**
 * Template requests, builds and build logs in the daemon's SQLite database, so a build id, its
 * status and its log outlive a daemon restart. The tables are created here when absent (they are
 * this module's alone); a build that was running when the daemon stopped is marked failed.
 */
export function createBuildStore(db: Db) {
  db.exec(`
    CREATE TABLE IF NOT EXISTS template_requests (
      template_id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      tags TEXT NOT NULL,
      cpu_count INTEGER NOT NULL,
      memory_mb INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS template_builds (
      build_id TEXT PRIMARY KEY,
      template_id TEXT NOT NULL,
      status TEXT NOT NULL,
      reason TEXT,
      created_at TEXT NOT NULL,
      finished_at TEXT
    );
    CREATE INDEX IF NOT EXISTS template_builds_template ON template_builds(template_id);
    CREATE TABLE IF NOT EXISTS template_build_logs (
      build_id TEXT NOT NULL,
      seq INTEGER NOT NULL,
      timestamp TEXT NOT NULL,
      level TEXT NOT NULL,
      message TEXT NOT NULL,
      step TEXT,
      PRIMARY KEY (build_id, seq)
    );`);
  const upsertRequest = db.prepare(
    `INSERT INTO template_requests (template_id, name, tags, cpu_count, memory_mb) VALUES (@templateId, @name, @tags, @cpuCount, @memoryMB)
     ON CONFLICT(template_id) DO UPDATE SET name = excluded.name, tags = excluded.tags, cpu_count = excluded.cpu_count, memory_mb = excluded.memory_mb`,
  );
  const upsertBuild = db.prepare(
    `INSERT INTO template_builds (build_id, template_id, status, reason, created_at, finished_at) VALUES (@buildId, @templateId, @status, @reason, @createdAt, @finishedAt)
     ON CONFLICT(build_id) DO UPDATE SET status = excluded.status, reason = excluded.reason, finished_at = excluded.finished_at`,
  );
  const insertLog = db.prepare('INSERT INTO template_build_logs (build_id, seq, timestamp, level, message, step) VALUES (?, ?, ?, ?, ?, ?)');
  const selectRequest = db.prepare('SELECT template_id, name, tags, cpu_count, memory_mb FROM template_requests WHERE template_id = ?');
  const selectRequestByName = db.prepare('SELECT template_id FROM template_requests WHERE name = ? LIMIT 1');
  const selectBuild = db.prepare('SELECT build_id, template_id, status, reason, created_at, finished_at FROM template_builds WHERE build_id = ? AND template_id = ?');
  const selectLog = db.prepare('SELECT timestamp, level, message, step FROM template_build_logs WHERE build_id = ? ORDER BY seq');
  const deleteTemplate = db.transaction((templateId: string) => {
    db.prepare('DELETE FROM template_build_logs WHERE build_id IN (SELECT build_id FROM template_builds WHERE template_id = ?)').run(templateId);
    db.prepare('DELETE FROM template_builds WHERE template_id = ?').run(templateId);
    db.prepare('DELETE FROM template_requests WHERE template_id = ?').run(templateId);
  });

  type RequestRow = { template_id: string; name: string; tags: string; cpu_count: number; memory_mb: number };
  type BuildRow = { build_id: string; template_id: string; status: BuildStatus; reason: string | null; created_at: string; finished_at: string | null };

  return {
    saveRequest(r: StoredRequest): void {
      upsertRequest.run({ ...r, tags: JSON.stringify(r.tags) });
    },

    request(templateId: string): StoredRequest | undefined {
      const row = selectRequest.get(templateId) as RequestRow | undefined;
      return row && { templateId: row.template_id, name: row.name, tags: JSON.parse(row.tags) as string[], cpuCount: row.cpu_count, memoryMB: row.memory_mb };
    },

    /** The id of the template last requested under `name`. */
    requestedId: (name: string): string | undefined => (selectRequestByName.get(name) as { template_id: string } | undefined)?.template_id,

    saveBuild(b: StoredBuild): void {
      upsertBuild.run({ ...b, reason: b.reason ? JSON.stringify(b.reason) : null, finishedAt: b.finishedAt ?? null });
    },

    build(templateId: string, buildId: string): StoredBuild | undefined {
      const row = selectBuild.get(buildId, templateId) as BuildRow | undefined;
      if (!row) return undefined;
      return {
        buildId: row.build_id,
        templateId: row.template_id,
        status: row.status,
        createdAt: row.created_at,
        ...(row.reason !== null ? { reason: JSON.parse(row.reason) as BuildReason } : {}),
        ...(row.finished_at !== null ? { finishedAt: row.finished_at } : {}),
      };
    },

    appendLog(buildId: string, seq: number, e: BuildLogEntry): void {
      insertLog.run(buildId, seq, e.timestamp, e.level, e.message, e.step ?? null);
    },

    log(buildId: string): BuildLogEntry[] {
      return (selectLog.all(buildId) as Array<{ timestamp: string; level: BuildLogEntry['level']; message: string; step: string | null }>).map((r) => ({
        timestamp: r.timestamp,
        level: r.level,
        message: r.message,
        ...(r.step !== null ? { step: r.step } : {}),
      }));
    },

    /** Builds left running by a daemon that stopped: failed, with that as the reason. Returns how many. */
    failInterrupted(now: string): number {
      const message = 'the daemon stopped during the build';
      return db.prepare(`UPDATE template_builds SET status = 'error', reason = ?, finished_at = ? WHERE status = 'building'`).run(JSON.stringify({ message, logEntries: [] }), now).changes;
    },

    removeTemplate: (templateId: string): void => void deleteTemplate(templateId),
  };
}

