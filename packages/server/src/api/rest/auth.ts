import type { Context, MiddlewareHandler } from 'hono';
import { ErrorCode, Headers, SandboxdError } from '@sandboxd/protocol';
import type { ApiKeyStore, Principal } from '../../auth/api-keys.js';
import { canSee } from '../../auth/ownership.js';
import { routeScope } from '../../auth/route-scopes.js';
import { requireScope } from '../../auth/scopes.js';
import { errorResponse } from './http.js';

/** Hono environment of the authenticated REST routes. */
export interface AuthEnv {
  Variables: { principal: Principal };
}

/**
 * Authenticates `X-API-KEY` (401 in E2B's shape otherwise) and checks the scope the route needs
 * (`auth/route-scopes.ts`; 403 naming it). The principal is then `principalOf(c)`.
 */
export function apiKeyAuth(apiKeys: ApiKeyStore): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const principal = apiKeys.authenticate(c.req.header(Headers.apiKey));
    if (principal === undefined) {
      return errorResponse(c, new SandboxdError(ErrorCode.UNAUTHENTICATED, 'invalid or missing API key; send it in the X-API-KEY header'));
    }
    const need = routeScope(c.req.method, c.req.path);
    if (need !== null) requireScope(principal.scopes, need);
    c.set('principal', principal);
    await next();
    return undefined;
  };
}

/** The principal `apiKeyAuth` authenticated. */
export function principalOf(c: Context): Principal {
  const principal = (c as Context<AuthEnv>).get('principal');
  if (principal === undefined) throw new SandboxdError(ErrorCode.UNAUTHENTICATED, 'invalid or missing API key; send it in the X-API-KEY header');
  return principal;
}

/** E2B's 404 of a sandbox, for one the key may not see (the same answer as an unknown id). */
export const sandboxNotFound = (sandboxId: string) =>
  new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`, { details: { sandboxId } });

/** Throws SANDBOX_NOT_FOUND unless the request's key may see a sandbox owned by `ownerKeyId`. */
export function assertVisible(c: Context, sandboxId: string, ownerKeyId: string | null | undefined): void {
  if (!canSee(principalOf(c), ownerKeyId)) throw sandboxNotFound(sandboxId);
}
