import type { SandboxRecord, SandboxState } from './sandbox-record.js';

/**
 * Persistence of sandbox records, as the domain needs it (store/ implements it over SQLite);
 * the in-memory registry is the read path while running.
 */
export interface SandboxRepo {
  insert(record: SandboxRecord): void;
  /** Writes the mutable fields (address, endAt, state, egress). */
  update(record: SandboxRecord): void;
  /** Records in any of the given states. */
  byState(states: SandboxState[]): SandboxRecord[];
  get(sandboxId: string): SandboxRecord | undefined;
}
