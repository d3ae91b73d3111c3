import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { ApiKeyInfo, CreateKeyOptions, KeyChange, KeyQuota } from '../auth/api-keys.js';
import { parseScopes } from '../auth/scopes.js';
import { formatTable } from './sandbox-format.js';

/** The flags of `sandboxd keys create`. */
export interface KeyCreateFlags {
  scope?: string[];
  maxSandboxes?: string;
  maxTimeout?: string;
  maxMemoryMb?: string;
}

const positiveInt = (flag: string, raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new SandboxdError(ErrorCode.BAD_REQUEST, `${flag} must be a whole number of at least 1, got "${raw}"`);
  return Number(raw);
};

/** The store's create options from the flags; without `--scope` the key is admin. */
export function keyCreateOptions(flags: KeyCreateFlags): CreateKeyOptions {
  const scopes = flags.scope === undefined ? undefined : parseScopes(flags.scope);
  if (scopes !== undefined && scopes.length === 0) throw new SandboxdError(ErrorCode.BAD_REQUEST, '--scope names no scope');
  const quota: KeyQuota = {};
  const maxSandboxes = positiveInt('--max-sandboxes', flags.maxSandboxes);
  const maxTimeoutSec = positiveInt('--max-timeout', flags.maxTimeout);
  const maxMemoryMB = positiveInt('--max-memory-mb', flags.maxMemoryMb);
  if (maxSandboxes !== undefined) quota.maxSandboxes = maxSandboxes;
  if (maxTimeoutSec !== undefined) quota.maxTimeoutSec = maxTimeoutSec;
  if (maxMemoryMB !== undefined) quota.maxMemoryMB = maxMemoryMB;
  return { ...(scopes !== undefined ? { scopes } : {}), quota };
}

const limitOrLift = (flag: string, raw: string | undefined): number | null | undefined => (raw === '0' ? null : positiveInt(flag, raw));

/** The change of `sandboxd keys update` from its flags: scopes when given, each limit given (0 lifts it). */
export function keyChange(flags: KeyCreateFlags): KeyChange {
  const scopes = flags.scope === undefined ? undefined : parseScopes(flags.scope);
  if (scopes !== undefined && scopes.length === 0) throw new SandboxdError(ErrorCode.BAD_REQUEST, '--scope names no scope');
  const quota: NonNullable<KeyChange['quota']> = {};
  const maxSandboxes = limitOrLift('--max-sandboxes', flags.maxSandboxes);
  const maxTimeoutSec = limitOrLift('--max-timeout', flags.maxTimeout);
  const maxMemoryMB = limitOrLift('--max-memory-mb', flags.maxMemoryMb);
  if (maxSandboxes !== undefined) quota.maxSandboxes = maxSandboxes;
  if (maxTimeoutSec !== undefined) quota.maxTimeoutSec = maxTimeoutSec;
  if (maxMemoryMB !== undefined) quota.maxMemoryMB = maxMemoryMB;
  if (scopes === undefined && Object.keys(quota).length === 0) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'give --scope or a --max-… limit to change');
  return { ...(scopes !== undefined ? { scopes } : {}), ...(Object.keys(quota).length > 0 ? { quota } : {}) };
}

/** A quota as `sandboxes=2,timeout=600s,memory=2048MiB`; `-` when unlimited. */
export function formatQuota(quota: KeyQuota): string {
  const parts = [
    ...(quota.maxSandboxes !== undefined ? [`sandboxes=${quota.maxSandboxes}`] : []),
    ...(quota.maxTimeoutSec !== undefined ? [`timeout=${quota.maxTimeoutSec}s`] : []),
    ...(quota.maxMemoryMB !== undefined ? [`memory=${quota.maxMemoryMB}MiB`] : []),
  ];
  return parts.length > 0 ? parts.join(',') : '-';
}

/** `sandboxd keys list` as a table. */
export function keysTable(keys: readonly ApiKeyInfo[]): string {
  return formatTable(
    ['ID', 'NAME', 'KEY', 'SCOPES', 'QUOTA', 'CREATED', 'REVOKED'],
    keys.map((k) => [k.id, k.name, k.mask, k.scopes.join(','), formatQuota(k.quota), k.createdAt, k.revokedAt ?? '-']),
  );
}
