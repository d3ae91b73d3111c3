import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/**
 * What an API key may do. `admin` implies every other scope and lifts ownership (every sandbox,
 * every key's usage, key management). The others only cover the key's own sandboxes.
 */
export const SCOPES = {
  /** Create sandboxes (`POST /sandboxes`, `/v2/sandboxes`) and kill them (`DELETE /sandboxes/{id}`). */
  'sandboxes:create': 'create and kill sandboxes',
  /**
   * Work with running sandboxes: connect (which hands out the envd access token), timeout,
   * refreshes, network updates, pause/resume; the token in `GET /sandboxes/{id}`.
   */
  'sandboxes:use': 'connect to sandboxes, change their timeout and network',
  /** List sandboxes and read their info, metrics and logs (no access token). */
  'sandboxes:read': 'list sandboxes, read their info, metrics and logs',
  /** Build, update and delete templates (listing them needs no scope). */
  'templates:build': 'build and delete templates',
  /** The Prometheus exposition `GET /metrics` (it names every sandbox of the daemon). */
  'metrics:read': 'scrape GET /metrics',
  admin: 'everything: every sandbox, every key, all usage',
} as const;

export type Scope = keyof typeof SCOPES;

export const ALL_SCOPES = Object.keys(SCOPES) as Scope[];

const isScope = (value: string): value is Scope => Object.hasOwn(SCOPES, value);

/**
 * Parses scope names (comma- or space-separated, repeated flags joined); BAD_REQUEST naming an
 * unknown one. Duplicates are dropped; the order is the registry's.
 */
export function parseScopes(values: string[]): Scope[] {
  const names = values.flatMap((v) => v.split(/[\s,]+/)).filter((v) => v !== '');
  for (const name of names) {
    if (!isScope(name)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `unknown scope "${name}"; known scopes: ${ALL_SCOPES.join(', ')}`);
  }
  return ALL_SCOPES.filter((s) => names.includes(s));
}

/** True when `scopes` grant `needed` (`admin` grants every scope). */
export const hasScope = (scopes: readonly Scope[], needed: Scope): boolean => scopes.includes('admin') || scopes.includes(needed);

/** FORBIDDEN (403) naming the missing scope unless `scopes` grant `needed`. */
export function requireScope(scopes: readonly Scope[], needed: Scope): void {
  if (!hasScope(scopes, needed)) {
    throw new SandboxdError(ErrorCode.FORBIDDEN, `this API key lacks the scope "${needed}" (${SCOPES[needed]}); create a key with --scope ${needed}`, { details: { scope: needed } });
  }
}
