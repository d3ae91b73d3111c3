import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TemplateInfo } from '../templates/template-store.js';

/**
 * A snapshot of a sandbox (E2B's snapshot template): what a sandbox started from it needs beside
 * the runtime's image. The agent inside keeps the identity it had when snapshotted until it is
 * adopted, with the daemon secret it had (`loopbackSecret`).
 */
export interface SnapshotRecord {
  snapshotId: string;
  /** The name given at creation (re-pointed by a later snapshot of the same name); null: none. */
  name: string | null;
  sourceSandboxId: string;
  /** The template the source sandbox was started from, as it was then. */
  template: TemplateInfo;
  /** The source's env vars (template env beneath its request's): what its programs already have. */
  envVars: Record<string, string>;
  loopbackSecret: string;
  createdAt: string;
  /** Bytes of the host's disk its image takes. */
  diskBytes: number;
}

/** E2B's snapshot id carries a tag (`name:default`); both forms resolve. */
export const SNAPSHOT_TAG = 'default';

/** The id E2B's SDK shows for a snapshot: its name (or id) with the tag. */
export const snapshotWireId = (s: SnapshotRecord): string => `${s.name ?? s.snapshotId}:${SNAPSHOT_TAG}`;

export interface SnapshotStore {
  put(record: SnapshotRecord): void;
  /** By id or name, with or without `:default`. */
  resolve(idOrName: string): SnapshotRecord | undefined;
  list(): SnapshotRecord[];
  delete(snapshotId: string): void;
}

/**
 * Snapshot records as JSON files in `dir` (`<id>.json`, written aside and renamed), loaded once;
 * without a directory they live in memory only (tests).
 */
export function createSnapshotStore(dir?: string): SnapshotStore {
  const records = new Map<string, SnapshotRecord>();
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const file of readdirSync(dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as SnapshotRecord;
        records.set(record.snapshotId, record);
      } catch {
        // a torn file cannot be: written aside, then renamed
      }
    }
  }
  return {
    put(record) {
      if (dir !== undefined) {
        const path = join(dir, `${record.snapshotId}.json`);
        writeFileSync(`${path}.tmp`, JSON.stringify(record), { mode: 0o600 });
        renameSync(`${path}.tmp`, path);
      }
      records.set(record.snapshotId, record);
    },
    resolve(idOrName) {
      const bare = idOrName.endsWith(`:${SNAPSHOT_TAG}`) ? idOrName.slice(0, -SNAPSHOT_TAG.length - 1) : idOrName;
      const name = bare.includes('/') ? bare.slice(bare.lastIndexOf('/') + 1) : bare;
      return records.get(bare) ?? [...records.values()].find((r) => r.name === name);
    },
    list: () => [...records.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)),
    delete(snapshotId) {
      if (dir !== undefined) rmSync(join(dir, `${snapshotId}.json`), { force: true });
      records.delete(snapshotId);
    },
  };
}
