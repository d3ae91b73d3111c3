import { writeFile, mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/** Every sandbox weighs the same against its siblings under /sandboxd (cgroup v1 cpu.shares). */
export const SANDBOX_CPU_SHARES = 1024;
/**
 * A sandbox started as background work (a pool refill, a template image) until it is claimed:
 * 1/64 of a sandbox in use, so that a refill's restore and warm-up do not slow the cells of the
 * sandbox just claimed (measured: docs/benchmarks.md, "Pool refills in the background").
 */
export const SANDBOX_BACKGROUND_CPU_SHARES = 16;
/**
 * The /sandboxd parent's weight: one eighth of a root-level task's default 1024, so the daemon
 * (in the root cgroup) wins the CPU when all sandboxes spin together.
 */
export const SANDBOXES_PARENT_CPU_SHARES = 128;
/** CPU (in cores) a single sandbox's quota always leaves to the host and the daemon. */
export const HOST_CPU_HEADROOM = 0.5;

/** A sandbox's CFS quota in cores: what it asked for, but never the whole host. */
export function sandboxCpuCores(requested: number, hostCpus: number = availableParallelism()): number {
  const ceiling = Math.max(0.1, hostCpus - HOST_CPU_HEADROOM);
  return Math.min(requested, ceiling);
}

/** cgroup v2 `cpu.weight` of v1 `cpu.shares` (the OCI runtimes' own conversion: 2..262144 → 1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** Sets one sandbox's CPU weight (v1 `cpu/sandboxd/<id>/cpu.shares`, or v2 `sandboxd/<id>/cpu.weight`). */
export async function setSandboxCpuShares(sandboxId: string, shares: number, cgroupRoot = '/sys/fs/cgroup'): Promise<void> {
  try {
    await writeFile(join(cgroupRoot, 'cpu', 'sandboxd', sandboxId, 'cpu.shares'), String(shares));
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await writeFile(join(cgroupRoot, 'sandboxd', sandboxId, 'cpu.weight'), String(sharesToWeight(shares)));
}

/** Gives /sandboxd its low weight (cgroup v1 `cpu` hierarchy, or v2 `cpu.weight` when unified). */
export async function ensureSandboxesParentShares(cgroupRoot = '/sys/fs/cgroup'): Promise<void> {
  const v1 = join(cgroupRoot, 'cpu', 'sandboxd');
  try {
    await mkdir(v1, { recursive: true });
    await writeFile(join(v1, 'cpu.shares'), String(SANDBOXES_PARENT_CPU_SHARES));
    return;
  } catch {
    // no v1 cpu hierarchy: try v2 below
  }
  const v2 = join(cgroupRoot, 'sandboxd');
  await mkdir(v2, { recursive: true });
  // v2 cpu.weight 1..10000, default 100: the same 1/8 ratio.
  await writeFile(join(v2, 'cpu.weight'), String(Math.max(1, Math.round((SANDBOXES_PARENT_CPU_SHARES / 1024) * 100))));
}
