import type { Logger } from 'pino';
import { ErrorCode, SandboxdError, isSandboxdError } from '@sandboxd/protocol';
import type { EgressPolicy, OperationOptions, RuntimeMetrics, SandboxRuntime } from '../runtime/sandbox-runtime.js';
import type { TemplateStore } from '../templates/template-store.js';
import type { SandboxRepo } from './sandbox-repo.js';
import type { KeyQuota } from '../auth/api-keys.js';
import { checkCreateQuota } from '../auth/quota.js';
import { linkSignals } from '../util/abort.js';
import { newAccessToken, newSandboxId } from './ids.js';
import { createReaper } from './reaper.js';
import type { EndReason, SandboxRecord } from './sandbox-record.js';

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
  /** Called synchronously when a running sandbox stops being reachable. Returns an unsubscribe. */
  onEnd(listener: (record: SandboxRecord, reason: EndReason) => void): () => void;
}

export interface SandboxServiceDeps {
  runtime: SandboxRuntime;
  templates: TemplateStore;
  repo: SandboxRepo;
  logger: Logger;
  createTimeoutMs: number;
  now?: () => number;
}

const notFound = (sandboxId: string) =>
  new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`, { details: { sandboxId } });

export function createSandboxService(deps: SandboxServiceDeps): SandboxService {
  const { runtime, templates, repo, logger } = deps;
  const now = deps.now ?? Date.now;
  const live = new Map<string, SandboxRecord>();
  /** Sandboxes being created (they count against their owner's quota). */
  const starting = new Map<string, SandboxRecord>();
  const listeners = new Set<(record: SandboxRecord, reason: EndReason) => void>();
  const shutdown = new AbortController();
  const reaper = createReaper((sandboxId) => {
    const record = live.get(sandboxId);
    if (record === undefined) return;
    end(record, 'expired').catch((error: unknown) => logger.error({ sandboxId, err: error }, 'destroying expired sandbox failed'));
  });

  /** Makes the sandbox unreachable at once, then asks the runtime to remove it. */
  async function end(record: SandboxRecord, reason: EndReason, options?: OperationOptions): Promise<void> {
    live.delete(record.sandboxId);
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
    const record = live.get(sandboxId);
    if (record === undefined) return;
    const reason = runtime.exitReason(sandboxId, { timeoutMs: 5_000 }).catch((error: unknown) => SandboxdError.from(error).message);
    end(record, 'died').catch((error: unknown) => logger.error({ sandboxId, err: error }, 'cleaning up a dead sandbox failed'));
    void reason.then((why) => logger.warn({ sandboxId, reason: why }, 'sandbox died'));
  };
  let unsubscribeExits: (() => void) | undefined;

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

  return {
    async start(options) {
      unsubscribeExits ??= runtime.onExit(onRuntimeExit);
      const known = repo.byState(['running', 'creating']);
      const candidates = known.filter((r) => r.state === 'running' && r.address !== null);
      const { alive } = await runtime.reconcile(
        candidates.map((r) => ({ sandboxId: r.sandboxId, address: r.address ?? '' })),
        options,
      );
      const aliveIds = new Set(alive);
      for (const record of known) {
        if (record.state === 'running' && aliveIds.has(record.sandboxId)) {
          live.set(record.sandboxId, record);
          reaper.arm(record.sandboxId, record.endAt);
          logger.info({ sandboxId: record.sandboxId }, 'adopted running sandbox');
        } else {
          record.state = 'gone';
          repo.update(record);
          logger.info({ sandboxId: record.sandboxId }, 'sandbox did not survive the restart');
        }
      }
    },

    stop() {
      unsubscribeExits?.();
      unsubscribeExits = undefined;
      reaper.stop();
      shutdown.abort(new SandboxdError(ErrorCode.CANCELED, 'the daemon is shutting down'));
    },

    async create(input, options) {
      const template = templates.resolve(input.template);
      if (template === undefined) {
        const known = templates.list().flatMap((t) => [...t.aliases, t.templateId]);
        throw new SandboxdError(
          ErrorCode.TEMPLATE_NOT_FOUND,
          `template "${input.template}" not found; known templates: ${known.length > 0 ? known.join(', ') : '(none built)'}`,
        );
      }
      const { owner } = input;
      if (owner !== undefined) {
        const owned = [...live.values(), ...starting.values()].filter((r) => r.ownerKeyId === owner.keyId);
        checkCreateQuota(owner.quota, { timeoutSec: input.timeoutSec, memoryMB: template.limits.memoryMB }, owned.map((r) => ({ memoryMB: r.limits.memoryMB })));
      }
      const startedAt = now();
      const record: SandboxRecord = {
        sandboxId: newSandboxId(),
        templateId: template.templateId,
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
          loopbackSecret: newAccessToken(),
        },
        startedAt,
        endAt: startedAt + input.timeoutSec * 1000,
        state: 'creating',
        ownerKeyId: owner?.keyId ?? null,
      };
      repo.insert(record);
      const { sandboxId } = record;
      starting.set(sandboxId, record);
      try {
        const started = await runtime.create(
          {
            sandboxId,
            rootfsPath: record.rootfsPath,
            limits: record.limits,
            egress: record.egress,
            agentConfig: {
              sandboxId,
              templateId: record.templateId,
              accessToken: record.accessToken,
              // The template's environment (its TLS trust variables), beneath the request's.
              envVars: { ...template.env, ...record.envVars },
              defaultUser: template.defaultUser ?? 'user',
              ...(template.defaultWorkdir !== undefined ? { defaultWorkdir: template.defaultWorkdir } : {}),
              ...(template.startCmd !== undefined ? { startCmd: template.startCmd } : {}),
              bootKernels: template.codeInterpreter ?? /code-interpreter/.test(record.templateAlias ?? ''),
              pidsLimit: record.limits.pidsLimit,
              ...(record.ingress?.loopbackSecret ? { loopbackSecret: record.ingress.loopbackSecret } : {}),
            },
          },
          {
            signal: linkSignals(options?.signal, shutdown.signal),
            timeoutMs: options?.timeoutMs ?? deps.createTimeoutMs,
          },
        );
        record.address = started.address;
      } catch (error) {
        record.state = 'failed';
        repo.update(record);
        logger.warn({ sandboxId, err: error }, 'sandbox failed to start');
        if (isSandboxdError(error)) throw error;
        const normalised = SandboxdError.from(error);
        if (normalised.code !== ErrorCode.INTERNAL) throw normalised;
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `sandbox failed to start: ${normalised.message}`, { cause: error });
      } finally {
        starting.delete(sandboxId);
      }
      record.state = 'running';
      record.endAt = now() + input.timeoutSec * 1000;
      repo.update(record);
      live.set(sandboxId, record);
      reaper.arm(sandboxId, record.endAt);
      logger.info({ sandboxId, template: input.template }, 'sandbox started');
      return record;
    },

    get,
    find: (sandboxId) => live.get(sandboxId),
    running: () => [...live.values()],

    async kill(sandboxId, options) {
      await end(get(sandboxId), 'killed', options);
    },

    setTimeout(sandboxId, timeoutSec) {
      const record = get(sandboxId);
      record.endAt = now() + timeoutSec * 1000;
      repo.update(record);
      reaper.arm(sandboxId, record.endAt);
      return record;
    },

    connect(sandboxId, timeoutSec) {
      const record = get(sandboxId);
      const endAt = now() + timeoutSec * 1000;
      if (endAt > record.endAt) {
        record.endAt = endAt;
        repo.update(record);
        reaper.arm(sandboxId, record.endAt);
      }
      return record;
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

    onEnd(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
