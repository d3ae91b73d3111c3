import { useEffect, useState } from 'preact/hooks';

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** Time of the last answer (ms), data or error. */
  at: number | undefined;
  /** Loads again now (and restarts the interval). */
  refresh: () => void;
}

/**
 * Calls `load` now and then every `intervalMs` after each answer (0: once), aborting the call in
 * flight when `deps` change or the component goes away. The last data is kept through errors.
 */
export function usePoll<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, deps: readonly unknown[]): Polled<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; at: number | undefined }>({ data: undefined, error: undefined, at: undefined });
  const [round, setRound] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const data = await load(controller.signal);
        if (!controller.signal.aborted) setState({ data, error: undefined, at: Date.now() });
      } catch (error) {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error, at: Date.now() }));
      }
      if (!controller.signal.aborted && intervalMs > 0) timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [...deps, round]);
  return { ...state, refresh: () => setRound((r) => r + 1) };
}
