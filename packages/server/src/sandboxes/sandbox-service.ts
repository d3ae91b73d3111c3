import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { ErrorCode, SandboxdError, isSandboxdError } from '@sandboxd/protocol';
import type { PauseTier, RuntimeMetrics, SandboxRuntime } from '../runtime/sandbox-runtime.js';
import type { EgressPolicy } from '../domain/egress-policy.js';
import type { OperationOptions } from '@sandboxd/protocol';
import type { TemplateInfo, TemplateStore } from '../templates/template-store.js';
import { becomeRequested } from '../pool/claim.js';
import { adoptAgent } from '../pool/adopt-client.js';
import { waitTemplateReady } from '../runtime/template-ready-client.js';
import type { SnapshotRecord, SnapshotStore } from './snapshot-store.js';
import { createSnapshotStore } from './snapshot-store.js';
import { POOL_USER, bootsKernels } from '../pool/warm-pool.js';
import type { PooledSandbox, WarmPool } from '../pool/warm-pool.js';
import { TEMPLATE_IMAGE_PREFIX, kernelsFor, type TemplateImage, type TemplateImages } from '../pool/template-images.js';
import type { SandboxRepo } from './sandbox-repo.js';
import type { KeyQuota } from '../auth/api-keys.js';
import { checkCreateQuota } from '../auth/quota.js';
import { linkSignals } from '../util/abort.js';
import { newAccessToken, newSandboxId } from './ids.js';
import { createPauseTiering, memoryOnlyTiering } from './pause-tiering.js';
import { createReaper } from './reaper.js';
import type { EndReason, SandboxLifecycle, SandboxRecord } from './sandbox-record.js';

/** A validated create request. */
export interface CreateSandboxInput {
  template: string;
  timeoutSec: number;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  /** true: the sandbox gets an access token its agent enforces. */
  secure: boolean;
  allowInternetAccess: boolean;
  allowOut: string[];
  denyOut: string[];
  /** E2B's `network.allowPublicTraffic` (default true: the sandbox's ports need no token). */
  allowPublicTraffic?: boolean;
  /** E2B's `network.maskRequestHost`. */
  maskRequestHost?: string | null;
  /** The API key creating the sandbox: recorded as its owner; its quota is checked first. */
  owner?: { keyId: string; quota: KeyQuota };
  /** E2B's `autoPause` (`lifecycle.onTimeout: 'pause'`). */
  autoPause?: boolean;
  /** E2B's `autoResume.enabled` (only with autoPause). */
  autoResume?: boolean;
  /** E2B's `autoPauseMemory` (`lifecycle.onTimeout.keepMemory`): false pauses at timeout keeping only the filesystem. */
  autoPauseMemory?: boolean;
}

/** A pause's options: `keepMemory: false` is E2B's filesystem-only pause (a resume boots again). */
export interface PauseOptions extends OperationOptions {
  keepMemory?: boolean;
}

/** The outcome of connect/resume: the sandbox, and whether it was paused and is now resumed. */
export interface ResumeResult {
  record: SandboxRecord;
  resumed: boolean;
}

/** Sandbox lifecycle: create, expiry, kill, and recovery of running sandboxes at start. */
export interface SandboxService {
  /** Reconciles persisted sandboxes with the runtime and re-arms their expiry. Call once. */
  start(options?: OperationOptions): Promise<void>;
  /** Disarms expiry timers and cancels in-flight creates; running sandboxes keep running. */
  stop(): void;
  create(input: CreateSandboxInput, options?: OperationOptions): Promise<SandboxRecord>;
  /** A running sandbox; throws SANDBOX_NOT_FOUND otherwise. */
  get(sandboxId: string): SandboxRecord;
  /** A running sandbox or undefined (the proxy's lookup). */
  find(sandboxId: string): SandboxRecord | undefined;
  running(): SandboxRecord[];
  /** A running or paused sandbox (`GET /sandboxes/{id}`); throws SANDBOX_NOT_FOUND otherwise. */
  info(sandboxId: string): SandboxRecord;
  /** Running and paused sandboxes (the list route). */
  listed(): SandboxRecord[];
  /** Where a paused sandbox's state is; undefined when it is not paused. */
  pauseTier(sandboxId: string): PauseTier | undefined;
  /**
   * Pauses a running sandbox: frozen in memory at once, checkpointed to disk after the grace
   * period or under memory pressure. Its end time no longer applies. SANDBOX_ALREADY_PAUSED when
   * paused, SANDBOX_NOT_FOUND when unknown.
   */
  pause(sandboxId: string, options?: PauseOptions): Promise<void>;
  /**
   * Resumes a paused sandbox (from memory or from disk) with the end time now + timeout; a
   * running one only has its end time extended (never shortened), as connect does.
   */
  resume(sandboxId: string, timeoutSec: number, options?: OperationOptions): Promise<ResumeResult>;
  /** The proxy's lookup for a sandbox it has no running record of: resumes it when its lifecycle says autoResume. */
  wake(sandboxId: string): Promise<SandboxRecord | undefined>;
  /** Called synchronously when a sandbox is being paused (its connections are to be dropped). */
  onPause(listener: (record: SandboxRecord) => void): () => void;
  kill(sandboxId: string, options?: OperationOptions): Promise<void>;
  /** Sets the end time to now + timeout (may shorten). */
  setTimeout(sandboxId: string, timeoutSec: number): SandboxRecord;
  /** Extends the end time to now + timeout; never shortens. */
  connect(sandboxId: string, timeoutSec: number): SandboxRecord;
  /**
   * Replaces the egress policy of a running sandbox: the runtime applies it first (atomically; a
   * failure leaves the old one in force), then it is recorded, so a daemon restart re-applies it.
   * Updates of one sandbox apply one at a time, in call order.
   */
  updateNetwork(sandboxId: string, egress: EgressPolicy, options?: OperationOptions): Promise<SandboxRecord>;
  metrics(sandboxId: string, options?: OperationOptions): Promise<RuntimeMetrics>;
  logs(sandboxId: string, options?: OperationOptions): Promise<string[]>;
  /**
   * Snapshots a running sandbox (E2B's `POST /sandboxes/{id}/snapshots`): it is frozen, written
   * out (memory and disk) and let run again, its end time untouched. Its connections are reset,
   * as a pause resets them. A later snapshot with the same name replaces the earlier one.
   */
  snapshot(sandboxId: string, name: string | null, options?: OperationOptions): Promise<SnapshotRecord>;
  /** Snapshots, newest first, optionally of one source sandbox or by name/id. */
  snapshots(filter?: { sandboxId?: string; name?: string }): SnapshotRecord[];
  /** Deletes a snapshot by id or name; false when there is none. Sandboxes started from it keep running. */
  deleteSnapshot(idOrName: string, options?: OperationOptions): Promise<boolean>;
  /**
   * Forks a running sandbox: one snapshot, then `count` new sandboxes from it (each succeeds or
   * fails on its own), the parent running on. The snapshot is deleted afterwards.
   */
  fork(sandboxId: string, count: number, timeoutSec: number, options?: OperationOptions & { owner?: CreateSandboxInput['owner'] }): Promise<Array<SandboxRecord | SandboxdError>>;
  /** Called synchronously when a running sandbox stops being reachable. Returns an unsubscribe. */
  onEnd(listener: (record: SandboxRecord, reason: EndReason) => void): () => void;
}

export interface SandboxServiceDeps {
  runtime: SandboxRuntime;
  templates: TemplateStore;
  repo: SandboxRepo;
  logger: Logger;
  createTimeoutMs: number;
  /** How long a paused sandbox stays frozen in memory before it goes to disk (default 60 s). */
  /** Whether frozen sandboxes move to disk (default false: they stay frozen in memory). */
  pauseToDisk?: boolean;
  pauseMemoryGraceMs?: number;
  /** Available host memory below which frozen sandboxes go to disk at once (default 1 GiB). */
  pauseMinAvailableBytes?: number;
  /** Where snapshot records live (default: in memory). */
  snapshots?: SnapshotStore;
  /** Warm sandboxes `create` claims before it boots one cold. */
  pool?: Pick<WarmPool, 'claim'>;
  /** Waits before each retry of a refused snapshot, ms (default 1 s, then 3 s: three attempts). */
  snapshotRetryDelaysMs?: number[];
  /** Fork children restored at once (default: the host's CPU count). */
  forkParallelism?: number;
  /** Template images a create restores when the pool has none (a failed restore boots cold). */
  images?: Pick<TemplateImages, 'get' | 'failed'>;
  now?: () => number;
}

/** Waits before the second and third attempt of a snapshot runsc refused, ms. */
const SNAPSHOT_RETRY_DELAYS_MS = [1_000, 3_000];

/** How long a sandbox may run to close its connections before it is frozen, ms. */
const SETTLE_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const alreadyPaused = (sandboxId: string) =>
  new SandboxdError(ErrorCode.SANDBOX_ALREADY_PAUSED, `Error pausing sandbox - sandbox '${sandboxId}' is already paused`, { details: { sandboxId } });

const notFound = (sandboxId: string) =>
  new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`, { details: { sandboxId } });

export function createSandboxService(deps: SandboxServiceDeps): SandboxService {
  const { runtime, templates, repo, logger } = deps;
  const now = deps.now ?? Date.now;
  const live = new Map<string, SandboxRecord>();
  /** Sandboxes being created (they count against their owner's quota). */
  const starting = new Map<string, SandboxRecord>();
  /** Paused sandboxes and where their state is. */
  const paused = new Map<string, { record: SandboxRecord; tier: PauseTier }>();
  /** Sandboxes being frozen: out of the proxy's reach, still visible to info and list. */
  const pausing = new Map<string, SandboxRecord>();
  const listeners = new Set<(record: SandboxRecord, reason: EndReason) => void>();
  const pauseListeners = new Set<(record: SandboxRecord) => void>();
  const shutdown = new AbortController();
  /** The tail of each sandbox's pause/resume/checkpoint transitions: one at a time, in call order. */
  const transitions = new Map<string, Promise<unknown>>();
  const serial = <T>(sandboxId: string, step: () => Promise<T>): Promise<T> => {
    const next = (transitions.get(sandboxId) ?? Promise.resolve()).catch(() => undefined).then(step);
    transitions.set(sandboxId, next);
    void next.catch(() => undefined).finally(() => {
      if (transitions.get(sandboxId) === next) transitions.delete(sandboxId);
    });
    return next;
  };
  const snapshotStore = deps.snapshots ?? createSnapshotStore();
  const tiering = deps.pauseToDisk
    ? createPauseTiering({
        graceMs: deps.pauseMemoryGraceMs ?? 60_000,
        minAvailableBytes: deps.pauseMinAvailableBytes ?? 2 ** 30,
        toDisk: (sandboxId) => void toDisk(sandboxId),
      })
    : memoryOnlyTiering;
  const reaper = createReaper((sandboxId) => {
    const record = live.get(sandboxId);
    if (record === undefined) return;
    if (record.lifecycle?.onTimeout === 'pause') {
      pause(sandboxId, { keepMemory: record.lifecycle.keepMemory !== false }).catch((error: unknown) => {
        logger.error({ sandboxId, err: error }, 'pausing expired sandbox failed; killing it');
        const still = live.get(sandboxId);
        if (still) end(still, 'expired').catch(() => undefined);
      });
      return;
    }
    end(record, 'expired').catch((error: unknown) => logger.error({ sandboxId, err: error }, 'destroying expired sandbox failed'));
  });

  /**
   * Checkpoints a sandbox frozen in memory; a failure (the runtime declines while the sandbox keeps
   * a TCP connection to the host open) keeps it in memory and tries again after the grace period.
   */
  function toDisk(sandboxId: string): Promise<void> {
    return serial(sandboxId, async () => {
      const entry = paused.get(sandboxId);
      if (entry === undefined || entry.tier !== 'memory') return;
      const startedAt = now();
      const op = { signal: shutdown.signal, timeoutMs: 120_000 };
      try {
        await runtime.checkpoint(sandboxId, op);
      } catch (error) {
        if (paused.get(sandboxId) === entry) tiering.refused(sandboxId);
        logger.warn({ sandboxId, err: error }, 'checkpoint to disk failed; the sandbox stays paused in memory (tried again later, each wait twice the last)');
        return;
      }
      entry.tier = 'disk';
      tiering.forget(sandboxId);
      logger.info({ sandboxId, ms: now() - startedAt }, 'paused sandbox checkpointed to disk');
    });
  }

  /** Tells the pause listeners (the proxy drops the sandbox's connections) before a freeze or stop. */
  function dropConnections(record: SandboxRecord): void {
    for (const listener of pauseListeners) {
      try {
        listener(record);
      } catch (error) {
        logger.error({ err: error }, 'sandbox pause listener failed');
      }
    }
  }

  async function pause(sandboxId: string, options?: PauseOptions): Promise<void> {
    const keepMemory = options?.keepMemory !== false;
    await serial(sandboxId, async () => {
      if (paused.has(sandboxId)) throw alreadyPaused(sandboxId);
      const record = get(sandboxId);
      live.delete(sandboxId);
      pausing.set(sandboxId, record);
      reaper.disarm(sandboxId);
      dropConnections(record);
      // The sandbox's programs close the connections the proxy just dropped before they stop: a
      // connection still open inside would make runsc refuse the checkpoint to disk.
      await sleep(SETTLE_MS);
      try {
        if (keepMemory) await runtime.freeze(sandboxId, options);
        else await runtime.stop(sandboxId, options);
      } catch (error) {
        pausing.delete(sandboxId);
        live.set(sandboxId, record);
        reaper.arm(sandboxId, record.endAt);
        if (isSandboxdError(error) && error.code !== ErrorCode.INTERNAL) throw error;
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `pausing sandbox "${sandboxId}" failed: ${SandboxdError.from(error).message}`, { cause: error });
      }
      record.state = 'paused';
      repo.update(record);
      pausing.delete(sandboxId);
      paused.set(sandboxId, { record, tier: keepMemory ? 'memory' : 'filesystem' });
      if (keepMemory) tiering.frozen(sandboxId);
      logger.info({ sandboxId, keepMemory }, 'sandbox paused');
    });
  }

  /**
   * Boots a sandbox paused without its memory again; its agent then takes the sandbox's identity
   * (a pool- or snapshot-born sandbox's boot configuration is its first identity's).
   */
  async function bootAgain(record: SandboxRecord, op: OperationOptions): Promise<void> {
    await runtime.reboot(record.sandboxId, op);
    const secret = record.ingress?.loopbackSecret;
    if (!secret || record.address === null) return;
    const snapshot = snapshotStore.resolve(record.templateId);
    const template = templates.resolve(record.templateId) ?? snapshot?.template;
    const identity = {
      sandboxId: record.sandboxId,
      templateId: record.templateId,
      accessToken: record.accessToken,
      envVars: { ...template?.env, ...snapshot?.envVars, ...record.envVars },
      defaultUser: template?.defaultUser ?? POOL_USER,
    };
    await adoptAgent(record.address, secret, { generation: Date.now(), ...identity }, op);
  }

  function resume(sandboxId: string, timeoutSec: number, options?: OperationOptions): Promise<ResumeResult> {
    return serial(sandboxId, async () => {
      const running = live.get(sandboxId);
      if (running !== undefined) return { record: extend(running, timeoutSec), resumed: false };
      const entry = paused.get(sandboxId);
      if (entry === undefined) throw notFound(sandboxId);
      const { record, tier } = entry;
      tiering.forget(sandboxId);
      const startedAt = now();
      try {
        const op = { signal: linkSignals(options?.signal, shutdown.signal), timeoutMs: options?.timeoutMs ?? deps.createTimeoutMs };
        if (tier === 'memory') await runtime.thaw(sandboxId, options);
        else if (tier === 'disk') await runtime.restore(sandboxId, op);
        else await bootAgain(record, op);
      } catch (error) {
        if (tier === 'memory') tiering.frozen(sandboxId);
        if (isSandboxdError(error) && error.code !== ErrorCode.INTERNAL) throw error;
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `resuming sandbox "${sandboxId}" failed: ${SandboxdError.from(error).message}`, { cause: error });
      }
      paused.delete(sandboxId);
      record.state = 'running';
      record.endAt = now() + timeoutSec * 1000;
      repo.update(record);
      live.set(sandboxId, record);
      reaper.arm(sandboxId, record.endAt);
      logger.info({ sandboxId, tier, ms: now() - startedAt }, 'sandbox resumed');
      return { record, resumed: true };
    });
  }

  /** connect's rule: the end time moves to now + timeout when that is later. */
  function extend(record: SandboxRecord, timeoutSec: number): SandboxRecord {
    const endAt = now() + timeoutSec * 1000;
    if (endAt > record.endAt) {
      record.endAt = endAt;
      repo.update(record);
      reaper.arm(record.sandboxId, record.endAt);
    }
    return record;
  }

  /** Makes the sandbox unreachable at once, then asks the runtime to remove it. */
  async function end(record: SandboxRecord, reason: EndReason, options?: OperationOptions): Promise<void> {
    live.delete(record.sandboxId);
    pausing.delete(record.sandboxId);
    paused.delete(record.sandboxId);
    tiering.forget(record.sandboxId);
    reaper.disarm(record.sandboxId);
    record.state = reason;
    repo.update(record);
    for (const listener of listeners) {
      try {
        listener(record, reason);
      } catch (error) {
        logger.error({ err: error }, 'sandbox end listener failed');
      }
    }
    logger.info({ sandboxId: record.sandboxId, reason }, 'sandbox ended');
    try {
      await runtime.destroy(record.sandboxId, options);
    } catch (error) {
      const message = `sandbox "${record.sandboxId}" is ${reason} but the runtime failed to remove it (retried at the next daemon start): ${SandboxdError.from(error).message}`;
      throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, message, { cause: error });
    }
  }

  /** A sandbox whose gVisor processes exited on their own: gone from the API at once, then cleaned up. */
  const onRuntimeExit = (sandboxId: string): void => {
    const frozen = paused.get(sandboxId);
    const record = live.get(sandboxId) ?? (frozen?.tier === 'memory' ? frozen.record : undefined);
    if (record === undefined) return;
    const reason = runtime.exitReason(sandboxId, { timeoutMs: 5_000 }).catch((error: unknown) => SandboxdError.from(error).message);
    end(record, 'died').catch((error: unknown) => logger.error({ sandboxId, err: error }, 'cleaning up a dead sandbox failed'));
    void reason.then((why) => logger.warn({ sandboxId, reason: why }, 'sandbox died'));
  };
  let unsubscribeExits: (() => void) | undefined;

  /**
   * The sandboxes a key holds against its quota: running, starting, and paused (a paused one keeps
   * its memory frozen by default, and a resume needs no room the key no longer has).
   */
  const heldBy = (keyId: string): SandboxRecord[] =>
    [...live.values(), ...starting.values(), ...pausing.values(), ...[...paused.values()].map((p) => p.record)].filter((r) => r.ownerKeyId === keyId);

  const get = (sandboxId: string): SandboxRecord => {
    const record = live.get(sandboxId);
    if (record === undefined) throw notFound(sandboxId);
    return record;
  };

  /** The tail of each sandbox's queue of egress updates. */
  const egressQueues = new Map<string, Promise<unknown>>();

  async function applyEgress(record: SandboxRecord, egress: EgressPolicy, options?: OperationOptions): Promise<SandboxRecord> {
    const { sandboxId } = record;
    const stillRunning = (): void => {
      if (live.get(sandboxId) !== record) throw notFound(sandboxId);
    };
    stillRunning();
    try {
      await runtime.updateEgress(sandboxId, egress, options);
    } catch (error) {
      stillRunning();
      if (isSandboxdError(error)) throw error;
      throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `updating the network of sandbox "${sandboxId}" failed: ${SandboxdError.from(error).message}`, { cause: error });
    }
    const previous = record.egress;
    record.egress = egress;
    try {
      repo.update(record);
    } catch (error) {
      record.egress = previous;
      await runtime.updateEgress(sandboxId, previous).catch(() => undefined);
      throw new SandboxdError(ErrorCode.INTERNAL, `recording the network of sandbox "${sandboxId}" failed: ${SandboxdError.from(error).message}`, { cause: error });
    }
    stillRunning();
    logger.info({ sandboxId, egress }, 'sandbox egress policy updated');
    return record;
  }

  /** Starts the sandbox `input` asks for: cold through the runtime, or by claiming `pooled`. */
  async function start(
    input: CreateSandboxInput,
    template: TemplateInfo,
    options: OperationOptions | undefined,
    pooled?: PooledSandbox,
    snapshot?: SnapshotRecord,
    image?: TemplateImage,
  ): Promise<SandboxRecord> {
    const startedAt = now();
    const record: SandboxRecord = {
      sandboxId: pooled?.sandboxId ?? newSandboxId(),
      templateId: snapshot?.snapshotId ?? template.templateId,
      templateAlias: input.template,
      rootfsPath: template.rootfsPath,
      metadata: input.metadata,
      envVars: input.envVars,
      accessToken: input.secure ? newAccessToken() : null,
      address: null,
      limits: template.limits,
      egress: { allowInternetAccess: input.allowInternetAccess, allowOut: input.allowOut, denyOut: input.denyOut },
      ingress: {
        trafficAccessToken: input.allowPublicTraffic === false ? newAccessToken() : null,
        maskRequestHost: input.maskRequestHost ?? null,
        // A restored agent is given its own secret by its first adopt (a fork's children share no secret).
        loopbackSecret: pooled?.loopbackSecret ?? newAccessToken(),
      },
      lifecycle: lifecycleOf(input),
      startedAt,
      endAt: startedAt + input.timeoutSec * 1000,
      state: 'creating',
      ownerKeyId: input.owner?.keyId ?? null,
    };
    repo.insert(record);
    const { sandboxId } = record;
    starting.set(sandboxId, record);
    const agentEnv = { ...template.env, ...snapshot?.envVars, ...record.envVars };
    const signal = linkSignals(options?.signal, shutdown.signal);
    const timeoutMs = options?.timeoutMs ?? deps.createTimeoutMs;
    const began = performance.now();
    let claim: { adoptMs: number; egressMs: number } | undefined;
    let phases: Record<string, number> | undefined;
    let booted = false;
    // The sandbox's first moments with precise timers (a pooled one may have coarsened idle in the pool).
    let releaseTimers = pooled !== undefined ? runtime.holdTimers?.(sandboxId) : undefined;
    try {
      if (pooled !== undefined) {
        const identity = { sandboxId, templateId: record.templateId, accessToken: record.accessToken, envVars: agentEnv, defaultUser: template.defaultUser ?? POOL_USER };
        claim = await becomeRequested(runtime, pooled, identity, record.egress, { signal, timeoutMs });
        record.address = pooled.address;
      } else {
        const spec = {
            sandboxId,
            rootfsPath: record.rootfsPath,
            limits: record.limits,
            egress: record.egress,
            agentConfig: {
              sandboxId,
              templateId: record.templateId,
              accessToken: record.accessToken,
              // The template's environment (its TLS trust variables), beneath the request's.
              envVars: agentEnv,
              defaultUser: template.defaultUser ?? POOL_USER,
              ...(template.defaultWorkdir !== undefined ? { defaultWorkdir: template.defaultWorkdir } : {}),
              ...(template.startCmd !== undefined ? { startCmd: template.startCmd } : {}),
              ...(template.readyCmd !== undefined ? { readyCmd: template.readyCmd } : {}),
              bootKernels: template.codeInterpreter ?? bootsKernels(record.templateAlias),
              pidsLimit: record.limits.pidsLimit,
              ...(record.ingress?.loopbackSecret ? { loopbackSecret: record.ingress.loopbackSecret } : {}),
            },
          };
        const restoreFrom = snapshot ?? image;
        if (restoreFrom === undefined) {
          const boot = await runtime.create(spec, { signal, timeoutMs });
          releaseTimers = runtime.holdTimers?.(sandboxId);
          record.address = boot.address;
          phases = boot.phases;
          booted = true;
        } else {
          const restored = await runtime.createFromSnapshot(spec, restoreFrom.snapshotId, { signal, timeoutMs });
          releaseTimers = runtime.holdTimers?.(sandboxId);
          record.address = restored.address;
          const adoptStarted = performance.now();
          // The restored agent is still the sandbox its image was taken of: it becomes this one,
          // with this one's daemon secret and hostname. The generation only has to be newer than
          // any the source had (a pool claim is 2).
          const identity = {
            sandboxId,
            templateId: record.templateId,
            accessToken: record.accessToken,
            envVars: agentEnv,
            defaultUser: template.defaultUser ?? POOL_USER,
            loopbackSecret: record.ingress?.loopbackSecret ?? newAccessToken(),
            hostname: sandboxId,
          };
          await adoptAgent(restored.address, restoreFrom.loopbackSecret, { generation: Date.now(), ...identity }, { signal, timeoutMs });
          phases = { ...restored.phases, adoptMs: Math.round(performance.now() - adoptStarted) };
        }
      }
      // E2B creates a sandbox of a template with a start command once its ready command passed.
      const secret = record.ingress?.loopbackSecret;
      if ((template.startCmd !== undefined || template.readyCmd !== undefined) && record.address !== null && secret) {
        const left = Math.max(1, timeoutMs - Math.round(performance.now() - began));
        await waitTemplateReady(record.address, secret, { signal, timeoutMs: left });
      }
    } catch (error) {
      record.state = 'failed';
      repo.update(record);
      logger.warn({ sandboxId, err: error }, 'sandbox failed to start');
      if (pooled !== undefined || snapshot !== undefined || image !== undefined || booted) await runtime.destroy(sandboxId).catch(() => undefined);
      if (isSandboxdError(error)) throw error;
      const normalised = SandboxdError.from(error);
      if (normalised.code !== ErrorCode.INTERNAL) throw normalised;
      throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `sandbox failed to start: ${normalised.message}`, { cause: error });
    } finally {
      releaseTimers?.();
      starting.delete(sandboxId);
    }
    record.state = 'running';
    record.endAt = now() + input.timeoutSec * 1000;
    repo.update(record);
    live.set(sandboxId, record);
    reaper.arm(sandboxId, record.endAt);
    const ms = Math.round(performance.now() - began);
    logger.info({ sandboxId, template: input.template, pooled: pooled !== undefined, snapshot: snapshot?.snapshotId, fromImage: image !== undefined, ms, ...claim, ...(phases ? { phases } : {}) }, 'sandbox started');
    return record;
  }

  /**
   * Writes the snapshot `snapshotId` of a running sandbox: its connections are dropped (as for a
   * pause), it is frozen, written out and thawed; its record and end time stay as they were.
   */
  function takeSnapshot(sandboxId: string, snapshotId: string, name: string | null, options?: OperationOptions): Promise<SnapshotRecord> {
    return serial(sandboxId, async () => {
      const record = get(sandboxId);
      // A sandbox of a deleted snapshot (a fork's child) still has what a restore needs in its record.
      const template: TemplateInfo = templates.resolve(record.templateId) ??
        snapshotStore.resolve(record.templateId)?.template ?? { templateId: record.templateId, aliases: [], rootfsPath: record.rootfsPath, limits: record.limits, createdAt: '' };
      live.delete(sandboxId);
      pausing.set(sandboxId, record);
      const startedAt = now();
      let diskBytes: number;
      let phases: Record<string, number> | undefined;
      try {
        // The proxy's connections go first; the runtime resets the rest and waits for the
        // sandbox's own to close as it runs, then freezes it only for the copy.
        dropConnections(record);
        // A refusal (the sandbox holds a TCP connection runsc cannot save) is retried after the
        // sandbox ran a while: its programs and gVisor's TCP timers get to close what was open.
        const retries = deps.snapshotRetryDelaysMs ?? SNAPSHOT_RETRY_DELAYS_MS;
        for (let attempt = 0; ; attempt++) {
          try {
            const image = await runtime.snapshot(sandboxId, snapshotId, options);
            diskBytes = image.diskBytes;
            phases = image.phases;
            break;
          } catch (error) {
            const delay = retries[attempt];
            const refused = isSandboxdError(error) && error.code === ErrorCode.RUNTIME_FAILURE && !options?.signal?.aborted;
            if (delay === undefined || !refused) throw error;
            logger.warn({ sandboxId, attempt: attempt + 1, retryInMs: delay, err: error }, 'snapshot refused; retrying');
          }
          await sleep(retries[attempt] ?? 0);
        }
      } finally {
        pausing.delete(sandboxId);
        live.set(sandboxId, record);
        // An end time that passed meanwhile found no running record: it fires now.
        reaper.arm(sandboxId, record.endAt);
      }
      const snapshot: SnapshotRecord = {
        snapshotId,
        name,
        sourceSandboxId: sandboxId,
        template,
        envVars: { ...template.env, ...record.envVars },
        loopbackSecret: record.ingress?.loopbackSecret ?? '',
        createdAt: new Date(now()).toISOString(),
        diskBytes,
      };
      logger.info({ sandboxId, snapshotId, ms: now() - startedAt, diskBytes, ...(phases ? { phases } : {}) }, 'sandbox snapshotted');
      return snapshot;
    });
  }

  /**
   * Deletes snapshot images no record names (a crash mid-fork, mid-delete or between the image and
   * its record). Template images (`template-…`) are the template images' own.
   */
  async function removeOrphanSnapshots(): Promise<void> {
    const known = new Set(snapshotStore.list().map((s) => s.snapshotId));
    const ids = await runtime.listSnapshots().catch((error: unknown) => {
      logger.warn({ err: error }, 'listing snapshot images failed');
      return [] as string[];
    });
    for (const id of ids) {
      if (known.has(id) || id.startsWith(TEMPLATE_IMAGE_PREFIX)) continue;
      await runtime.deleteSnapshot(id).then(
        () => logger.info({ snapshotId: id }, 'orphaned snapshot image deleted'),
        (error: unknown) => logger.warn({ snapshotId: id, err: error }, 'deleting an orphaned snapshot image failed'),
      );
    }
  }

  /** Starts a sandbox from a snapshot: the create request's identity over the snapshot's state. */
  function startFromSnapshot(input: CreateSandboxInput, snapshot: SnapshotRecord, options?: OperationOptions): Promise<SandboxRecord> {
    if (snapshot.loopbackSecret === '') {
      throw new SandboxdError(ErrorCode.SNAPSHOT_INCOMPATIBLE, `snapshot "${snapshot.snapshotId}" is of a sandbox without a daemon secret; it cannot be adopted`);
    }
    return start(input, snapshot.template, options, undefined, snapshot);
  }

  return {
    async start(options) {
      unsubscribeExits ??= runtime.onExit(onRuntimeExit);
      const known = repo.byState(['running', 'creating', 'paused']);
      const candidates = known.filter((r) => (r.state === 'running' || r.state === 'paused') && r.address !== null);
      const found = await runtime.reconcile(
        candidates.map((r) => ({ sandboxId: r.sandboxId, address: r.address ?? '', paused: r.state === 'paused' })),
        options,
      );
      const aliveIds = new Set(found.alive);
      const tiers = new Map(found.paused.map((p) => [p.sandboxId, p.tier]));
      for (const record of known) {
        const tier = tiers.get(record.sandboxId);
        if (aliveIds.has(record.sandboxId)) {
          // A crash between the freeze and its record leaves a running one recorded paused: running.
          if (record.state !== 'running') {
            record.state = 'running';
            repo.update(record);
          }
          live.set(record.sandboxId, record);
          reaper.arm(record.sandboxId, record.endAt);
          logger.info({ sandboxId: record.sandboxId }, 'adopted running sandbox');
        } else if (tier !== undefined) {
          if (record.state !== 'paused') {
            record.state = 'paused';
            repo.update(record);
          }
          paused.set(record.sandboxId, { record, tier });
          if (tier === 'memory') tiering.frozen(record.sandboxId);
          logger.info({ sandboxId: record.sandboxId, tier }, 'adopted paused sandbox');
        } else {
          record.state = 'gone';
          repo.update(record);
          logger.info({ sandboxId: record.sandboxId }, 'sandbox did not survive the restart');
        }
      }
      await removeOrphanSnapshots();
    },

    stop() {
      unsubscribeExits?.();
      unsubscribeExits = undefined;
      reaper.stop();
      tiering.stop();
      shutdown.abort(new SandboxdError(ErrorCode.CANCELED, 'the daemon is shutting down'));
    },

    async create(input, options) {
      const template = templates.resolve(input.template);
      const snapshot = template === undefined ? snapshotStore.resolve(input.template) : undefined;
      if (snapshot !== undefined) {
        const { owner } = input;
        if (owner !== undefined) {
          const owned = heldBy(owner.keyId);
          checkCreateQuota(owner.quota, { timeoutSec: input.timeoutSec, memoryMB: snapshot.template.limits.memoryMB }, owned.map((r) => ({ memoryMB: r.limits.memoryMB })));
        }
        return startFromSnapshot(input, snapshot, options);
      }
      if (template === undefined) {
        const known = templates.list().flatMap((t) => [...t.aliases, t.templateId]);
        throw new SandboxdError(
          ErrorCode.TEMPLATE_NOT_FOUND,
          `template "${input.template}" not found; known templates: ${known.length > 0 ? known.join(', ') : '(none built)'}`,
        );
      }
      const { owner } = input;
      if (owner !== undefined) {
        const owned = heldBy(owner.keyId);
        checkCreateQuota(owner.quota, { timeoutSec: input.timeoutSec, memoryMB: template.limits.memoryMB }, owned.map((r) => ({ memoryMB: r.limits.memoryMB })));
      }
      const pooled = deps.pool?.claim(input.template, template.templateId);
      if (pooled !== undefined) {
        try {
          return await start(input, template, options, pooled);
        } catch (error) {
          if (options?.signal?.aborted || shutdown.signal.aborted) throw error;
          // The template's start command failed: a cold sandbox would run the same one.
          if (isSandboxdError(error) && error.code === ErrorCode.TEMPLATE_NOT_READY) throw error;
          logger.warn({ sandboxId: pooled.sandboxId, err: error }, 'claiming a pooled sandbox failed; starting one cold');
        }
      }
      const image = deps.images?.get(template, kernelsFor(template, input.template));
      if (image !== undefined) {
        try {
          return await start(input, template, options, undefined, undefined, image);
        } catch (error) {
          if (options?.signal?.aborted || shutdown.signal.aborted) throw error;
          deps.images?.failed(image, error);
          logger.warn({ templateId: template.templateId, snapshotId: image.snapshotId, err: error }, 'starting from the template image failed; booting cold');
        }
      }
      return start(input, template, options);
    },

    get,
    find: (sandboxId) => live.get(sandboxId),
    running: () => [...live.values()],
    info(sandboxId) {
      const record = live.get(sandboxId) ?? pausing.get(sandboxId) ?? paused.get(sandboxId)?.record;
      if (record === undefined) throw notFound(sandboxId);
      return record;
    },
    listed: () => [...live.values(), ...pausing.values(), ...[...paused.values()].map((p) => p.record)],
    pauseTier: (sandboxId) => paused.get(sandboxId)?.tier,
    pause,
    resume,

    async wake(sandboxId) {
      // Traffic that meets a pause under way waits for it, then resumes like any other.
      if (pausing.has(sandboxId)) await transitions.get(sandboxId)?.catch(() => undefined);
      const entry = paused.get(sandboxId);
      if (entry === undefined) return live.get(sandboxId);
      const lifecycle = entry.record.lifecycle;
      // A filesystem-only pause has no memory to wake: only connect boots it again (as E2B).
      if (lifecycle?.autoResume !== true || entry.tier === 'filesystem') return undefined;
      return (await resume(sandboxId, lifecycle.timeoutSec)).record;
    },

    onPause(listener) {
      pauseListeners.add(listener);
      return () => pauseListeners.delete(listener);
    },

    async kill(sandboxId, options) {
      const record = live.get(sandboxId) ?? pausing.get(sandboxId) ?? paused.get(sandboxId)?.record;
      if (record === undefined) throw notFound(sandboxId);
      // A pause, resume or checkpoint under way finishes first; the kill then ends whatever it left.
      await transitions.get(sandboxId)?.catch(() => undefined);
      await end(record, 'killed', options);
    },

    setTimeout(sandboxId, timeoutSec) {
      const record = get(sandboxId);
      record.endAt = now() + timeoutSec * 1000;
      repo.update(record);
      reaper.arm(sandboxId, record.endAt);
      return record;
    },

    connect(sandboxId, timeoutSec) {
      return extend(get(sandboxId), timeoutSec);
    },

    async updateNetwork(sandboxId, egress, options) {
      const record = get(sandboxId);
      const queued = (egressQueues.get(sandboxId) ?? Promise.resolve())
        .catch(() => undefined)
        .then(() => applyEgress(record, egress, options));
      egressQueues.set(sandboxId, queued);
      try {
        return await queued;
      } finally {
        if (egressQueues.get(sandboxId) === queued) egressQueues.delete(sandboxId);
      }
    },

    async metrics(sandboxId, options) {
      get(sandboxId);
      return runtime.metrics(sandboxId, options);
    },

    async logs(sandboxId, options) {
      get(sandboxId);
      return runtime.logs(sandboxId, options);
    },

    async snapshot(sandboxId, name, options) {
      const snapshot = await takeSnapshot(sandboxId, newSandboxId(), name, options);
      const replaced = name === null ? undefined : snapshotStore.list().find((s) => s.name === name);
      snapshotStore.put(snapshot);
      if (replaced !== undefined) {
        snapshotStore.delete(replaced.snapshotId);
        await runtime.deleteSnapshot(replaced.snapshotId).catch((error: unknown) => logger.warn({ snapshotId: replaced.snapshotId, err: error }, 'deleting a replaced snapshot failed'));
      }
      return snapshot;
    },

    snapshots(filter = {}) {
      const named = filter.name === undefined ? undefined : snapshotStore.resolve(filter.name);
      return snapshotStore
        .list()
        .filter((s) => (filter.sandboxId === undefined || s.sourceSandboxId === filter.sandboxId) && (filter.name === undefined || s === named));
    },

    async deleteSnapshot(idOrName, options) {
      const snapshot = snapshotStore.resolve(idOrName);
      if (snapshot === undefined) return false;
      snapshotStore.delete(snapshot.snapshotId);
      await runtime.deleteSnapshot(snapshot.snapshotId, options);
      logger.info({ snapshotId: snapshot.snapshotId }, 'snapshot deleted');
      return true;
    },

    async fork(sandboxId, count, timeoutSec, options) {
      const parent = get(sandboxId);
      const snapshot = await takeSnapshot(sandboxId, newSandboxId(), null, options);
      try {
        const input: CreateSandboxInput = {
          template: snapshot.snapshotId,
          timeoutSec,
          metadata: parent.metadata,
          envVars: parent.envVars,
          secure: parent.accessToken !== null,
          allowInternetAccess: parent.egress.allowInternetAccess,
          allowOut: parent.egress.allowOut,
          denyOut: parent.egress.denyOut,
          allowPublicTraffic: parent.ingress?.trafficAccessToken === null,
          maskRequestHost: parent.ingress?.maskRequestHost ?? null,
          autoPause: parent.lifecycle?.onTimeout === 'pause',
          autoResume: parent.lifecycle?.autoResume === true,
        };
        // A restore is CPU-bound: as many at once as the box has cores (more only share them).
        const results: Array<SandboxRecord | SandboxdError> = new Array<SandboxRecord | SandboxdError>(count);
        const child = async (): Promise<SandboxRecord> => {
          const owner = options?.owner;
          if (owner !== undefined) {
            const owned = heldBy(owner.keyId);
            checkCreateQuota(owner.quota, { timeoutSec, memoryMB: snapshot.template.limits.memoryMB }, owned.map((r) => ({ memoryMB: r.limits.memoryMB })));
          }
          return start({ ...input, ...(owner !== undefined ? { owner } : {}) }, snapshot.template, { ...(options?.signal ? { signal: options.signal } : {}) }, undefined, snapshot);
        };
        let next = 0;
        const width = Math.max(1, Math.min(count, deps.forkParallelism ?? availableParallelism()));
        await Promise.all(
          Array.from({ length: width }, async () => {
            while (next < count) {
              const at = next++;
              results[at] = await child().catch((error: unknown) => SandboxdError.from(error));
            }
          }),
        );
        return results;
      } finally {
        await runtime.deleteSnapshot(snapshot.snapshotId).catch((error: unknown) => logger.warn({ snapshotId: snapshot.snapshotId, err: error }, 'deleting a fork snapshot failed'));
      }
    },

    onEnd(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The least timeout a resume by traffic gives (E2B's `minimum-autoresume-timeout`: 300 s). */
export const AUTO_RESUME_MIN_TIMEOUT_SEC = 300;

/** The lifecycle a create request asks for. */
function lifecycleOf(input: CreateSandboxInput): SandboxLifecycle {
  const onTimeout = input.autoPause === true ? 'pause' : 'kill';
  return {
    onTimeout,
    autoResume: onTimeout === 'pause' && input.autoResume === true,
    ...(onTimeout === 'pause' && input.autoPauseMemory === false ? { keepMemory: false } : {}),
    timeoutSec: Math.max(input.timeoutSec, AUTO_RESUME_MIN_TIMEOUT_SEC),
  };
}
