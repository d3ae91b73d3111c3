import type { OperationOptions } from '@sandboxd/protocol';

/**
 * Waits for `work` to settle (fulfilled or rejected alike), for at most `timeoutMs`, and no longer
 * than `signal` stays unaborted. Never rejects: the caller only wants to give the work its chance.
 */
export async function waitSettled(work: Promise<unknown>, options: OperationOptions = {}): Promise<void> {
  const { signal, timeoutMs } = options;
  if (signal?.aborted) return;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const bounds = new Promise<void>((resolve) => {
    if (timeoutMs !== undefined) timer = setTimeout(resolve, timeoutMs);
    onAbort = resolve;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([work.then(() => undefined, () => undefined), bounds]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
