import type { AdoptRequest } from '@sandboxd/protocol';
import type { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import type { EgressPolicy } from '../domain/egress-policy.js';
import type { OperationOptions } from '@sandboxd/protocol';
import { adoptAgent } from './adopt-client.js';
import type { PooledSandbox } from './warm-pool.js';

const sameList = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** Whether two egress policies are the same (no firewall update needed). */
export function sameEgress(a: EgressPolicy, b: EgressPolicy): boolean {
  return a.allowInternetAccess === b.allowInternetAccess && sameList(a.allowOut, b.allowOut) && sameList(a.denyOut, b.denyOut);
}

/**
 * Makes a claimed pooled sandbox the requested one: the agent adopts `identity` (its env in the
 * live kernels before this resolves), then the egress policy is applied when it is not the one
 * the sandbox booted with. The caller destroys the sandbox when this rejects. Resolves with where
 * the time went (ms), for the log.
 */
export async function becomeRequested(
  runtime: SandboxRuntime,
  pooled: PooledSandbox,
  identity: Omit<AdoptRequest, 'generation'>,
  egress: EgressPolicy,
  options: OperationOptions = {},
): Promise<{ adoptMs: number; egressMs: number }> {
  const started = performance.now();
  // Refilled as background work: from now on it is a sandbox in use.
  await runtime.foreground?.(pooled.sandboxId, options);
  await adoptAgent(pooled.address, pooled.loopbackSecret, { generation: pooled.generation + 1, ...identity }, options);
  const adopted = performance.now();
  if (!sameEgress(egress, pooled.egress)) await runtime.updateEgress(pooled.sandboxId, egress, options);
  return { adoptMs: Math.round(adopted - started), egressMs: Math.round(performance.now() - adopted) };
}
