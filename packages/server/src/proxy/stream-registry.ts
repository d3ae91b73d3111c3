/**
 * In-flight proxied exchanges per sandbox, so that a sandbox's end resets every one of them.
 * Each entry is a reset callback; `add` returns the function that removes it again.
 */
export interface StreamRegistry {
  add(sandboxId: string, reset: () => void): () => void;
  /** Runs and forgets every reset callback of the sandbox. */
  resetSandbox(sandboxId: string): number;
  /** Runs and forgets every reset callback. */
  resetAll(): number;
  count(sandboxId?: string): number;
}

export interface StreamRegistryOptions {
  /**
   * Called as an exchange is added; what it returns is called once when the exchange is removed
   * or reset (the sandbox's precise timers while traffic is in flight).
   */
  hold?: (sandboxId: string) => () => void;
}

interface Entry {
  reset: () => void;
  release: (() => void) | undefined;
}

export function createStreamRegistry(options: StreamRegistryOptions = {}): StreamRegistry {
  const bySandbox = new Map<string, Set<Entry>>();
  const release = (entry: Entry): void => {
    const done = entry.release;
    entry.release = undefined;
    done?.();
  };
  const runAll = (set: Set<Entry>): number => {
    for (const entry of set) {
      release(entry);
      entry.reset();
    }
    return set.size;
  };
  return {
    add(sandboxId, reset) {
      let set = bySandbox.get(sandboxId);
      if (set === undefined) bySandbox.set(sandboxId, (set = new Set()));
      const entry: Entry = { reset, release: options.hold?.(sandboxId) };
      set.add(entry);
      return () => {
        release(entry);
        set.delete(entry);
        if (set.size === 0 && bySandbox.get(sandboxId) === set) bySandbox.delete(sandboxId);
      };
    },
    resetSandbox(sandboxId) {
      const set = bySandbox.get(sandboxId);
      if (set === undefined) return 0;
      bySandbox.delete(sandboxId);
      return runAll(set);
    },
    resetAll() {
      let n = 0;
      for (const set of bySandbox.values()) n += runAll(set);
      bySandbox.clear();
      return n;
    },
    count(sandboxId) {
      if (sandboxId !== undefined) return bySandbox.get(sandboxId)?.size ?? 0;
      let n = 0;
      for (const set of bySandbox.values()) n += set.size;
      return n;
    },
  };
}
