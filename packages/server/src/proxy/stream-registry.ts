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

export function createStreamRegistry(): StreamRegistry {
  const bySandbox = new Map<string, Set<() => void>>();
  const runAll = (set: Set<() => void>): number => {
    for (const reset of set) reset();
    return set.size;
  };
  return {
    add(sandboxId, reset) {
      let set = bySandbox.get(sandboxId);
      if (set === undefined) bySandbox.set(sandboxId, (set = new Set()));
      set.add(reset);
      return () => {
        set.delete(reset);
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
