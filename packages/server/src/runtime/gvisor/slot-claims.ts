import { mkdirSync, openSync, closeSync, readFileSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { MAX_SLOTS } from './address-plan.js';

/** Host-wide registry of network slots, shared by every daemon on the machine. */
export const DEFAULT_CLAIMS_DIR = '/run/sandboxd-net/slots';

/**
 * Network slots (subnet, veth and namespace names) are a host-wide resource: several daemons
 * (different SANDBOXD_HOME) may run on one machine. A slot belongs to whoever created its claim
 * file (atomically, O_EXCL); the file records the owner's home. Claims live on /run, which is
 * cleared at boot exactly when namespaces and veths vanish too.
 */
export function createSlotClaims(owner: string, dir = DEFAULT_CLAIMS_DIR) {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const pathOf = (slot: number): string => join(dir, String(slot));

  const ownerOf = (slot: number): string | undefined => {
    try {
      return readFileSync(pathOf(slot), 'utf8');
    } catch {
      return undefined;
    }
  };

  return {
    /** Claims the lowest free slot. */
    claim(): number {
      for (let slot = 0; slot < MAX_SLOTS; slot++) {
        let fd: number;
        try {
          fd = openSync(pathOf(slot), 'wx', 0o644);
        } catch {
          continue;
        }
        writeSync(fd, owner);
        closeSync(fd);
        return slot;
      }
      throw new SandboxdError(ErrorCode.RESOURCE_EXHAUSTED, `no free sandbox network slot (limit ${MAX_SLOTS})`);
    },
    /** Records `slot` as ours (adoption after a restart). */
    adopt(slot: number): void {
      const current = ownerOf(slot);
      if (current !== undefined && current !== owner) {
        throw new SandboxdError(ErrorCode.CONFLICT, `network slot ${slot} belongs to the daemon at ${current}`);
      }
      if (current === undefined) {
        const fd = openSync(pathOf(slot), 'w', 0o644);
        writeSync(fd, owner);
        closeSync(fd);
      }
    },
    release(slot: number): void {
      if (ownerOf(slot) !== owner) return;
      try {
        unlinkSync(pathOf(slot));
      } catch {
        // already released
      }
    },
    ownerOf,
    /** True when this daemon may clean the slot up: it is ours, or nobody's. */
    mayClean(slot: number): boolean {
      const current = ownerOf(slot);
      return current === undefined || current === owner;
    },
    /** Slots this daemon owns. */
    owned(): number[] {
      return readdirSync(dir)
        .map(Number)
        .filter((slot) => Number.isInteger(slot) && ownerOf(slot) === owner);
    },
  };
}

export type SlotClaims = ReturnType<typeof createSlotClaims>;
