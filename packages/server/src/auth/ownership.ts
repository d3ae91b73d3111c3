import { hasScope } from './scopes.js';
import type { Principal } from './api-keys.js';

/**
 * True when `principal` may see a sandbox owned by `ownerKeyId`: admin keys see every sandbox,
 * other keys only those they created. The REST layer answers 404 for the rest, as for an unknown
 * id, so sandbox ids do not leak across keys.
 */
export const canSee = (principal: Principal, ownerKeyId: string | null | undefined): boolean =>
  hasScope(principal.scopes, 'admin') || (ownerKeyId ?? null) === principal.keyId;

/** The items `principal` may see. */
export const visibleTo = <T extends { ownerKeyId?: string | null }>(principal: Principal, items: T[]): T[] =>
  hasScope(principal.scopes, 'admin') ? items : items.filter((r) => canSee(principal, r.ownerKeyId));
