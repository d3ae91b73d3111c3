/**
 * The request a piece of agent work belongs to: the daemon's proxy passes its id as
 * `X-Request-Id`, `serve.ts` runs each request's handler inside its scope, and every log line
 * written meanwhile (in that handler's async continuations) carries it as `reqId`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<string>();

/** Runs `fn` as part of request `reqId` (undefined: of none). */
export function inRequest<T>(reqId: string | undefined, fn: () => T): T {
  return reqId === undefined ? scope.exit(fn) : scope.run(reqId, fn);
}

/** The id of the request the current work belongs to, if any. */
export function currentRequestId(): string | undefined {
  return scope.getStore();
}
