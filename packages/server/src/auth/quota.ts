import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { KeyQuota } from './api-keys.js';

/** What a create asks for, against a key's quota. */
export interface QuotaRequest {
  timeoutSec: number;
  /** The template's memory, MiB. */
  memoryMB: number;
}

/**
 * Throws unless a key with `quota` may create one more sandbox while it has `owned` (running,
 * starting or paused): a timeout over `maxTimeoutSec` is BAD_REQUEST (400, the request can be changed),
 * reaching `maxSandboxes` or `maxMemoryMB` is RESOURCE_EXHAUSTED (429, as E2B answers its
 * concurrency limit). Each message names the quota and its value.
 */
export function checkCreateQuota(quota: KeyQuota, request: QuotaRequest, owned: ReadonlyArray<{ memoryMB: number }>): void {
  if (quota.maxTimeoutSec !== undefined && request.timeoutSec > quota.maxTimeoutSec) {
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `timeout ${request.timeoutSec} s exceeds this API key's max-timeout quota of ${quota.maxTimeoutSec} s`, {
      details: { quota: 'maxTimeoutSec', limit: quota.maxTimeoutSec },
    });
  }
  if (quota.maxSandboxes !== undefined && owned.length >= quota.maxSandboxes) {
    throw new SandboxdError(
      ErrorCode.RESOURCE_EXHAUSTED,
      `this API key has reached its max-sandboxes quota: ${owned.length} of ${quota.maxSandboxes} concurrent sandboxes running; kill one first`,
      { details: { quota: 'maxSandboxes', limit: quota.maxSandboxes } },
    );
  }
  if (quota.maxMemoryMB !== undefined) {
    const used = owned.reduce((sum, s) => sum + s.memoryMB, 0);
    if (used + request.memoryMB > quota.maxMemoryMB) {
      throw new SandboxdError(
        ErrorCode.RESOURCE_EXHAUSTED,
        `this API key's max-memory quota of ${quota.maxMemoryMB} MiB does not fit another sandbox of ${request.memoryMB} MiB (${used} MiB in use by its sandboxes)`,
        { details: { quota: 'maxMemoryMB', limit: quota.maxMemoryMB } },
      );
    }
  }
}

/** The timeout a key may extend a sandbox to (connect, refreshes): capped at its `maxTimeoutSec`. */
export const capTimeout = (quota: KeyQuota, timeoutSec: number): number =>
  quota.maxTimeoutSec === undefined ? timeoutSec : Math.min(timeoutSec, quota.maxTimeoutSec);
