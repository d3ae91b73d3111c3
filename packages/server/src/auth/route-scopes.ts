import type { Scope } from './scopes.js';

/** A scope a request needs; `null`: any valid key (what it may see is still limited to its own). */
type Need = Scope | null;

interface Rule {
  method: string | '*';
  pattern: RegExp;
  need: Need;
}

const SANDBOX = '(?:/v2)?/sandboxes/[^/]+';

/** The REST routes and the scope each needs, first match wins. */
const RULES: Rule[] = [
  { method: 'POST', pattern: /^(?:\/v2)?\/sandboxes\/?$/, need: 'sandboxes:create' },
  { method: 'DELETE', pattern: new RegExp(`^${SANDBOX}/?$`), need: 'sandboxes:create' },
  { method: 'POST', pattern: new RegExp(`^${SANDBOX}/(?:connect|timeout|refreshes|pause|resume|fork|snapshots)/?$`), need: 'sandboxes:use' },
  { method: 'PUT', pattern: new RegExp(`^${SANDBOX}/network/?$`), need: 'sandboxes:use' },
  { method: 'GET', pattern: /^(?:\/v2)?\/sandboxes(?:\/.*)?$/, need: 'sandboxes:read' },
  { method: 'GET', pattern: /^\/snapshots\/?$/, need: 'sandboxes:read' },
  // Listing templates and reading their builds is needed to create sandboxes; changing them is not.
  { method: 'GET', pattern: /^(?:\/v[0-9]+)?\/templates(?:\/.*)?$/, need: null },
  { method: '*', pattern: /^(?:\/v[0-9]+)?\/templates(?:\/.*)?$/, need: 'templates:build' },
  // Each key's own usage; admin keys see every key's.
  { method: 'GET', pattern: /^\/usage\/?$/, need: null },
];

/**
 * The scope a REST request needs. Routes without a rule need `admin`, so a route added without
 * one is closed to scoped keys rather than open.
 */
export function routeScope(method: string, path: string): Need {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  for (const rule of RULES) if ((rule.method === '*' || rule.method === m) && rule.pattern.test(path)) return rule.need;
  return 'admin';
}
