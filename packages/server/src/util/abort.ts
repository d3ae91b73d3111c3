import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/**
 * One signal that aborts when any given signal aborts or after `timeoutMs` (client disconnect ∪
 * deadline ∪ shutdown). The deadline aborts with a typed TIMEOUT reason naming `label`.
 */
export function linkSignals(
  signals: (AbortSignal | undefined)[],
  timeoutMs?: number,
  label = 'operation',
): AbortSignal {
  const all = signals.filter((s): s is AbortSignal => s !== undefined);
  if (timeoutMs !== undefined && timeoutMs > 0) {
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new SandboxdError(ErrorCode.TIMEOUT, `${label} did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    all.push(deadline.signal);
  }
  return AbortSignal.any(all);
}

/** Throws the signal's reason when it has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw SandboxdError.from(signal.reason);
}
