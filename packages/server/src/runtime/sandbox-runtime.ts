import type { AgentConfig } from '@sandboxd/protocol';

import type { OperationOptions } from '@sandboxd/protocol';
import type { EgressPolicy } from '../domain/egress-policy.js';
import type { SandboxLimits } from '../domain/sandbox-limits.js';

/** Everything the runtime needs to start one sandbox. */
export interface SandboxSpec {
  sandboxId: string;
  /**
   * Directory holding the template's read-only root filesystem, or an overlayfs `lowerdir` list
   * (`top:...:base`, colon-separated) for a built template's layers over its base.
   */
  rootfsPath: string;
  limits: SandboxLimits;
  egress: EgressPolicy;
  agentConfig: AgentConfig;
  /**
   * Started as background work (a pool refill, a template image): its cgroup gets a low CPU weight
   * so that it takes only CPU the sandboxes in use leave, until `foreground` gives it a sandbox's.
   */
  background?: boolean;
}

/** One process the template builder runs inside a sandbox. */
export interface ExecSpec {
  argv: string[];
  uid: number;
  gid: number;
  cwd: string;
  env: Record<string, string>;
  /** Capabilities added to the process's bounding set (`runsc exec --cap`), beyond the sandbox's. */
  capabilities?: string[];
}

export interface ExecOptions extends OperationOptions {
  /** Each line the process prints, as it comes. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

/** A started sandbox as the runtime knows it. */
export interface RuntimeSandbox {
  sandboxId: string;
  /** IP address (host-reachable) on which the sandbox's agent and user ports listen. */
  address: string;
  /** Where the start's time went, ms per step (for the log), when the runtime measures it. */
  phases?: Record<string, number>;
}

/**
 * Where a paused sandbox's state is: `memory` (frozen, its memory still held; resumes in tens of
 * ms), `disk` (checkpointed to an image under SANDBOXD_HOME; holds no memory) or `filesystem`
 * (E2B's `keepMemory: false`: stopped, only its filesystem kept; a resume boots it again).
 */
export type PauseTier = 'memory' | 'disk' | 'filesystem';

/** A written snapshot image. */
export interface SnapshotImage {
  /** Bytes it takes on the host's disk (memory image and disk copy, sparse). */
  diskBytes: number;
  /** Where the time went, ms per step (for the log). */
  phases?: Record<string, number>;
}

/** A sandbox the daemon knows, as handed to `reconcile`. */
export interface KnownSandbox extends RuntimeSandbox {
  /** The daemon recorded it paused: a frozen container or an image on disk is what it expects. */
  paused?: boolean;
}

/** Point-in-time resource usage of one sandbox. */
export interface RuntimeMetrics {
  cpuCount: number;
  /** CPU use since the previous call, percent of all `cpuCount` CPUs. */
  cpuUsedPct: number;
  /** Cumulative CPU time consumed, ns, when the runtime knows it (a sampler derives use between its own samples). */
  cpuNanos?: number;
  memUsedBytes: number;
  memTotalBytes: number;
  memCacheBytes: number;
  diskUsedBytes: number;
  diskTotalBytes: number;
  /** Cumulative bytes the sandbox sent out to the network through its egress firewall, when counted. */
  egressBytes?: number;
  /** Cumulative bytes the network sent into the sandbox (downloads, replies to it), when counted. */
  ingressBytes?: number;
}

/**
 * Starts and stops isolated sandboxes. The gVisor driver (runtime/gvisor) is the real one;
 * every method cleans up after itself on failure.
 */
export interface SandboxRuntime {
  /** Starts the sandbox and resolves once its agent answers `GET /health`. */
  create(spec: SandboxSpec, options?: OperationOptions): Promise<RuntimeSandbox>;
  /**
   * Stops the sandbox: when it resolves the sandbox runs no more (its connections are reset);
   * releasing what it held (container state, network, firewall, layer) may finish shortly after.
   * Idempotent: unknown ids resolve.
   */
  destroy(sandboxId: string, options?: OperationOptions): Promise<void>;
  /**
   * At daemon start: keeps the listed sandboxes that are still alive and healthy, destroys
   * every other runtime leftover (containers, namespaces, veths, cgroups, firewall rules).
   */
  reconcile(
    known: KnownSandbox[],
    options?: OperationOptions,
  ): Promise<{ alive: string[]; paused: Array<{ sandboxId: string; tier: PauseTier }>; removed: string[] }>;
  /**
   * Freezes a running sandbox in memory (every task stops, nothing is lost; its connections to the
   * host stay open but see no answer). Idempotent on a frozen one.
   */
  freeze(sandboxId: string, options?: OperationOptions): Promise<void>;
  /** Lets a frozen sandbox run again. */
  thaw(sandboxId: string, options?: OperationOptions): Promise<void>;
  /**
   * Writes a frozen sandbox to disk and ends its container: the image is written beside the
   * sandbox, then renamed into place, then the container goes. A failure (or a crash) at any
   * step leaves it frozen in memory, never lost. Its network slot, firewall rules, writable layer
   * and run directory stay.
   */
  checkpoint(sandboxId: string, options?: OperationOptions): Promise<void>;
  /**
   * Starts a checkpointed sandbox again from its image (then deletes the image) and resolves once
   * its agent answers. Its TCP connections from before are reset. On failure the image stays.
   */
  restore(sandboxId: string, options?: OperationOptions): Promise<void>;
  /**
   * Stops a running sandbox keeping only its filesystem (its writes flushed first): the container
   * goes, its writable layer, network slot, firewall rules and run directory stay, marked stopped.
   */
  stop(sandboxId: string, options?: OperationOptions): Promise<void>;
  /**
   * Boots a stopped sandbox again on its own filesystem, bundle and slot (a fresh kernel: no
   * process or memory of before), and resolves once its agent answers. On failure it stays stopped.
   */
  reboot(sandboxId: string, options?: OperationOptions): Promise<void>;
  /**
   * Writes a sandbox's memory and disk to the snapshot `snapshotId` (complete or absent: written
   * aside, then renamed). A frozen one stays frozen; a running one is frozen only for the copy and
   * runs on. Either way it stays whole, refused or not.
   */
  snapshot(sandboxId: string, snapshotId: string, options?: OperationOptions): Promise<SnapshotImage>;
  /**
   * Starts a new sandbox (its own slot, disk copy and run directory) from the snapshot's image and
   * resolves once its agent answers; the agent still has the identity it had when snapshotted.
   * SNAPSHOT_NOT_FOUND for an unknown snapshot, SNAPSHOT_INCOMPATIBLE for one another runsc or
   * agent wrote.
   */
  createFromSnapshot(spec: SandboxSpec, snapshotId: string, options?: OperationOptions): Promise<RuntimeSandbox>;
  /**
   * Resolves when the snapshot's image can be restored by this runtime: SNAPSHOT_NOT_FOUND when
   * there is none, SNAPSHOT_INCOMPATIBLE when another runsc or agent wrote it.
   */
  checkSnapshot(snapshotId: string, options?: OperationOptions): Promise<void>;
  /** Ids of the complete snapshot images on this host (the daemon deletes those it has no record of). */
  listSnapshots(options?: OperationOptions): Promise<string[]>;
  /** Deletes a snapshot's image. Idempotent. */
  deleteSnapshot(snapshotId: string, options?: OperationOptions): Promise<void>;
  metrics(sandboxId: string, options?: OperationOptions): Promise<RuntimeMetrics>;
  /**
   * Replaces the egress policy of a running sandbox, atomically: its traffic meets the old policy
   * or the new one, never none; on failure the old one stays in force. The new policy is what the
   * runtime re-applies when it adopts the sandbox after a daemon restart. SANDBOX_NOT_FOUND for a
   * sandbox it does not run.
   */
  updateEgress(sandboxId: string, egress: EgressPolicy, options?: OperationOptions): Promise<void>;
  /**
   * Subscribes to sandboxes that stop on their own (their gVisor processes exited: OOM, pids
   * limit, crash, a kill from outside), reported within about a second; not called for `destroy`.
   * Returns the unsubscribe.
   */
  onExit(listener: (sandboxId: string) => void): () => void;
  /**
   * Subscribes to bytes a relay of the runtime's own (the domain filter) carried for a sandbox,
   * which the counters of `metrics()` do not see: `egress` it sent out, `ingress` it received.
   * Returns the unsubscribe.
   */
  onEgressRelayed?(listener: (sandboxId: string, bytes: number, direction: 'egress' | 'ingress') => void): () => void;
  /** Why a sandbox that exited on its own stopped, for the record (best effort). */
  exitReason(sandboxId: string, options?: OperationOptions): Promise<string>;
  /**
   * Keeps a sandbox's timers precise (not coarsened for idleness) from now until the returned
   * release is called: for traffic to it and work on it in progress. Optional; releasing twice is harmless.
   */
  holdTimers?(sandboxId: string): () => void;
  /** Gives a sandbox started as `background` the CPU weight of any other (a pool claim). */
  foreground?(sandboxId: string, options?: OperationOptions): Promise<void>;
  /** Stops watching for exits (the daemon is stopping); sandboxes keep running. */
  stopWatching(): void;
  /**
   * Resolves once the releases that `destroy` left running in the background have finished (the
   * daemon waits for them before it exits, so no mount or namespace is left half-removed), or
   * when `timeoutMs` or `signal` ends the wait; never rejects.
   */
  settle(options?: OperationOptions): Promise<void>;
  /** The agent's log lines (its stdout/stderr), oldest first. */
  logs(sandboxId: string, options?: OperationOptions): Promise<string[]>;
  /** Runs a process inside a running sandbox (template builds); resolves with its exit code. */
  exec?(sandboxId: string, spec: ExecSpec, options?: ExecOptions): Promise<number>;
  /**
   * Host paths of a running sandbox's writable layer (template builds): `upper` holds what the
   * sandbox changed over its template, `tmp` is its /tmp (not part of `upper`).
   */
  layerPaths?(sandboxId: string): { upper: string; tmp: string };
}
