import { ErrorCode, SandboxdError } from './errors.js';

/** What every async operation takes. Only entry points read `timeoutMs`; below them only signals travel. */
export interface OperationOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * One signal that aborts, with the first reason, when any of the given signals aborts (client
 * disconnect ∪ shutdown ∪ deadline). Reasons are SandboxdErrors (CANCELED, TIMEOUT, ...), so
 * `SandboxdError.from(signal.reason)` is the error to throw.
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length <= 1) return present[0];
  return AbortSignal.any(present);
}

/** A signal aborting with `reason` (a SandboxdError) after `ms`; `dispose()` clears its timer. */
export function timeoutSignal(ms: number, reason: () => SandboxdError): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(reason()), ms);
  timer.unref?.();
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/**
 * The entry-point form of `{ signal, timeoutMs }`: one signal for the whole operation, aborting
 * with the caller's reason, or with TIMEOUT naming `what` once `timeoutMs` has passed. Pass the
 * signal down (never `timeoutMs`), and call `dispose()` when the operation ends.
 *
 * @example
 * const { signal, dispose } = deadline(op, 'creating sandbox x');
 * try { await stepOne({ signal }); await stepTwo({ signal }); } finally { dispose(); }
 */
export function deadline(op: OperationOptions, what: string): { signal: AbortSignal | undefined; dispose(): void } {
  if (op.timeoutMs === undefined || op.timeoutMs <= 0) return { signal: op.signal, dispose: () => undefined };
  const ms = op.timeoutMs;
  const timer = timeoutSignal(ms, () => new SandboxdError(ErrorCode.TIMEOUT, `${what} did not finish within ${ms} ms`));
  return { signal: linkSignals(op.signal, timer.signal), dispose: timer.dispose };
}

/** Throws the signal's reason as a SandboxdError when it has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw SandboxdError.from(signal.reason);
}
