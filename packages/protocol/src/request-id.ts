/** A request id sandboxd accepts from a client: 1–128 of `A–Z a–z 0–9 _ . : -` (a UUID, a trace id). */
const WELL_FORMED = /^[\w.:-]{1,128}$/;

/** `value` when it is a well-formed request id (`X-Request-Id`), else undefined. */
export function wellFormedRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && WELL_FORMED.test(value) ? value : undefined;
}
