import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/**
 * One holder per key at a time, waiters served in order: two builds that reach the same step key
 * run it once; the second waits, then finds the first one's layer in the cache.
 */
export function createKeyLocks() {
  const tails = new Map<string, Promise<void>>();
  return {
    /** Whether someone holds `key` (a caller may say it waits). */
    held: (key: string): boolean => tails.has(key),

    /** Resolves with the release once `key` is free; rejects when `signal` aborts first. */
    async acquire(key: string, options: { signal?: AbortSignal } = {}): Promise<() => void> {
      const before = tails.get(key);
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const tail = (before ?? Promise.resolve()).then(() => mine);
      tails.set(key, tail);
      const done = () => {
        release();
        if (tails.get(key) === tail) tails.delete(key);
      };
      if (before) {
        const { signal } = options;
        try {
          await new Promise<void>((resolve, reject) => {
            const onAbort = () =>
              reject(signal?.reason instanceof Error ? signal.reason : new SandboxdError(ErrorCode.CANCELED, `waiting for step ${key} was canceled`));
            if (signal?.aborted) return onAbort();
            signal?.addEventListener('abort', onAbort, { once: true });
            void before.then(() => {
              signal?.removeEventListener('abort', onAbort);
              resolve();
            });
          });
        } catch (error) {
          done(); // those behind wait for `before` only
          throw error;
        }
      }
      return done;
    },
  };
}

