import type { Db } from './database.js';
import type { SandboxRecord, SandboxState } from '../sandboxes/sandbox-record.js';
import type { SandboxRepo } from '../sandboxes/sandbox-repo.js';

export type { SandboxRepo };

interface Row {
  id: string;
  template_id: string;
  template_alias: string;
  rootfs_path: string;
  metadata: string;
  env_vars: string;
  access_token: string | null;
  address: string | null;
  limits: string;
  egress: string;
  ingress: string;
  lifecycle: string | null;
  started_at: number;
  end_at: number;
  state: SandboxState;
  owner_key_id: string | null;
}

const fromRow = (row: Row): SandboxRecord => ({
  sandboxId: row.id,
  templateId: row.template_id,
  templateAlias: row.template_alias,
  rootfsPath: row.rootfs_path,
  metadata: JSON.parse(row.metadata) as Record<string, string>,
  envVars: JSON.parse(row.env_vars) as Record<string, string>,
  accessToken: row.access_token,
  address: row.address,
  limits: JSON.parse(row.limits) as SandboxRecord['limits'],
  egress: JSON.parse(row.egress) as SandboxRecord['egress'],
  ingress: JSON.parse(row.ingress) as NonNullable<SandboxRecord['ingress']>,
  ...(row.lifecycle ? { lifecycle: JSON.parse(row.lifecycle) as NonNullable<SandboxRecord['lifecycle']> } : {}),
  startedAt: row.started_at,
  endAt: row.end_at,
  state: row.state,
  ownerKeyId: row.owner_key_id,
});

const isTerminal = (state: SandboxState): boolean => state !== 'creating' && state !== 'running' && state !== 'paused';

export function createSandboxRepo(db: Db): SandboxRepo {
  const insertStmt = db.prepare(
    `INSERT INTO sandboxes (id, template_id, template_alias, rootfs_path, metadata, env_vars, access_token,
       address, limits, egress, ingress, lifecycle, started_at, end_at, state, owner_key_id)
     VALUES (@id, @template_id, @template_alias, @rootfs_path, @metadata, @env_vars, @access_token,
       @address, @limits, @egress, @ingress, @lifecycle, @started_at, @end_at, @state, @owner_key_id)`,
  );
  const updateStmt = db.prepare(
    'UPDATE sandboxes SET address = ?, end_at = ?, state = ?, egress = ?, ended_at = ? WHERE id = ?',
  );
  const getStmt = db.prepare<[string], Row>('SELECT * FROM sandboxes WHERE id = ?');
  return {
    insert(r) {
      insertStmt.run({
        id: r.sandboxId,
        template_id: r.templateId,
        template_alias: r.templateAlias,
        rootfs_path: r.rootfsPath,
        metadata: JSON.stringify(r.metadata),
        env_vars: JSON.stringify(r.envVars),
        access_token: r.accessToken,
        address: r.address,
        limits: JSON.stringify(r.limits),
        egress: JSON.stringify(r.egress),
        ingress: JSON.stringify(r.ingress ?? { trafficAccessToken: null, maskRequestHost: null }),
        lifecycle: r.lifecycle ? JSON.stringify(r.lifecycle) : null,
        started_at: r.startedAt,
        end_at: r.endAt,
        state: r.state,
        owner_key_id: r.ownerKeyId ?? null,
      });
    },
    update(r) {
      updateStmt.run(r.address, r.endAt, r.state, JSON.stringify(r.egress), isTerminal(r.state) ? Date.now() : null, r.sandboxId);
    },
    byState(states) {
      if (states.length === 0) return [];
      const marks = states.map(() => '?').join(', ');
      return db
        .prepare<string[], Row>(`SELECT * FROM sandboxes WHERE state IN (${marks}) ORDER BY started_at, id`)
        .all(...states)
        .map(fromRow);
    },
    get(sandboxId) {
      const row = getStmt.get(sandboxId);
      return row === undefined ? undefined : fromRow(row);
    },
  };
}
