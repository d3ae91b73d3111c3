/**
 * One signal that aborts, with the first reason, when any of the given signals aborts
 * (client disconnect ∪ shutdown); deadlines travel separately as `timeoutMs`.
 */
export function linkSignals(signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}
