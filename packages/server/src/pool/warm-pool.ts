import type { Logger } from 'pino';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { AdoptRequest } from '@sandboxd/protocol';
import type { SandboxRuntime, SandboxSpec } from '../runtime/sandbox-runtime.js';
import type { EgressPolicy } from '../domain/egress-policy.js';
import type { OperationOptions } from '@sandboxd/protocol';
import type { SandboxLimits } from '../domain/sandbox-limits.js';
import { newAccessToken, newSandboxId } from '../sandboxes/ids.js';
import type { TemplateInfo, TemplateStore } from '../templates/template-store.js';
import { adoptAgent } from './adopt-client.js';
import type { TemplateImages } from './template-images.js';

/** A started, warmed sandbox waiting in the pool: invisible to the API until claimed. */
export interface PooledSandbox {
  /** Minted when it booted; the claimed sandbox keeps it (hostname and runtime state are keyed on it). */
  sandboxId: string;
  templateId: string;
  /** The pool key: the template name the create request must use. */
  templateAlias: string;
  rootfsPath: string;
  limits: SandboxLimits;
  address: string;
  /** The agent's daemon secret (loopback forward and adopt). */
  loopbackSecret: string;
  /** The adopt generation the agent is at (the pool's own adopt: 1 after a boot, the time in ms after a restore). */
  generation: number;
  /** Egress in force: the default policy (internet on, no lists). */
  egress: EgressPolicy;
}

/** What a pool template's depth looks like (Prometheus `sandboxd_pool_sandboxes`). */
export interface PoolDepth {
  template: string;
  ready: number;
  booting: number;
  target: number;
  /** Creates of the template served from the pool since the daemon started. */
  claims: number;
  /** Creates of the template that found the pool empty and started cold. */
  misses: number;
}

export interface WarmPool {
  /** Starts filling in the background (after the service reconciled the runtime). */
  start(): void;
  /**
   * Takes a warmed sandbox of `templateAlias` built from `templateId`, or undefined (pool empty,
   * not pooled, or stale: then the caller boots cold). Synchronous: concurrent claims never share.
   * A refill starts in the background.
   */
  claim(templateAlias: string, templateId: string): PooledSandbox | undefined;
  /** Pool depth by template, for metrics. */
  depth(): PoolDepth[];
  /** Whether `sandboxId` is a pooled (unclaimed) sandbox. */
  has(sandboxId: string): boolean;
  /** Stops refilling and destroys every pooled sandbox (and the boot in flight). */
  stop(options?: OperationOptions): Promise<void>;
}

export interface WarmPoolDeps {
  runtime: SandboxRuntime;
  templates: TemplateStore;
  logger: Logger;
  /** Pooled sandboxes per template name (`parsePoolSizes`). */
  sizes: Map<string, number>;
  /** Memory the pooled sandboxes may hold together, MiB (counted as measured after warm-up). */
  memoryBudgetMB: number;
  /** Deadline of one sandbox start (up to its agent's `/health`). */
  bootTimeoutMs: number;
  /**
   * Deadline of the warm-up after the start (kernels up, heavy imports done); default 10 min: on a
   * loaded box it can take minutes, and giving up would throw that work away only to redo it.
   */
  warmTimeoutMs?: number;
  /** Wait after a failed boot before the next attempt (doubles up to 60 s); default 1 s. */
  retryDelayMs?: number;
  /**
   * After a claim that leaves the template's pool with a sandbox still ready, how long its refill
   * waits (default 2 s, {@link REFILL_DELAY_MS}): the claimed sandbox's first cells run without a
   * restore beside them. A claim that empties the pool refills at once.
   */
  refillDelayMs?: number;
  /** Template images: refills restore one instead of booting (a failed restore boots). */
  images?: Pick<TemplateImages, 'ensure' | 'failed'>;
}

/** Egress a pooled sandbox boots with: `create`'s default; a claim with another policy updates it. */
export const POOL_EGRESS: EgressPolicy = { allowInternetAccess: true, allowOut: [], denyOut: [] };
/** The default user of pooled sandboxes (and of every sandboxd create). */
export const POOL_USER = 'user';

/**
 * A refill's restore and warm-up take both cores for ~0.5 s; the cells of a sandbox claimed just
 * before ran 1.5–2× slower beside it (measured: docs/benchmarks.md, "Pool refills").
 */
export const REFILL_DELAY_MS = 2_000;

/** Memory a sandbox of `alias` is expected to hold before one was measured, MiB. */
const estimateMB = (alias: string): number => (bootsKernels(alias) ? 400 : 80);

/** Whether sandboxes of a template name boot the code-interpreter kernels (as create decides). */
export const bootsKernels = (alias: string): boolean => /code-interpreter/.test(alias);

/** The identity the pool itself gives a sandbox it boots (its warm-up adopt). */
export function poolIdentity(sandboxId: string, template: TemplateInfo): Omit<AdoptRequest, 'generation'> {
  return { sandboxId, templateId: template.templateId, accessToken: null, envVars: { ...template.env }, defaultUser: template.defaultUser ?? POOL_USER };
}

/**
 * What the daemon boots for the pool and for a template's image: the template's rootfs, limits,
 * start and ready commands, with the pool's own identity and egress.
 */
export function pooledSandboxSpec(sandboxId: string, template: TemplateInfo, kernels: boolean, loopbackSecret: string): SandboxSpec {
  return {
    sandboxId,
    rootfsPath: template.rootfsPath,
    limits: template.limits,
    egress: POOL_EGRESS,
    background: true,
    agentConfig: {
      ...poolIdentity(sandboxId, template),
      ...(template.defaultWorkdir !== undefined ? { defaultWorkdir: template.defaultWorkdir } : {}),
      ...(template.startCmd !== undefined ? { startCmd: template.startCmd } : {}),
      ...(template.readyCmd !== undefined ? { readyCmd: template.readyCmd } : {}),
      bootKernels: kernels,
      pidsLimit: template.limits.pidsLimit,
      loopbackSecret,
    },
  };
}

/**
 * Per template, `sizes` sandboxes started and warmed ahead (kernels booted, heavy imports done).
 * One boot at a time for the whole pool, so refills never take more than one core of the box from
 * the sandboxes in use; a sandbox is only added while the pool's measured memory stays within
 * `memoryBudgetMB`. Pooled sandboxes never expire; one that dies is replaced.
 */
export function createWarmPool(deps: WarmPoolDeps): WarmPool {
  const { runtime, templates, logger, sizes } = deps;
  const ready = new Map<string, PooledSandbox[]>();
  /** Memory held by each pooled sandbox (measured, else estimated), MiB. */
  const heldMB = new Map<string, number>();
  /** Newest measurement of a warmed sandbox per template, MiB. */
  const measuredMB = new Map<string, number>();
  let booting: { alias: string; sandboxId: string; abort: AbortController; done: Promise<void> } | undefined;
  let started = false;
  let stopped = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const failures = new Map<string, number>();
  const claims = new Map<string, number>();
  const misses = new Map<string, number>();
  const count = (counter: Map<string, number>, alias: string): void => void counter.set(alias, (counter.get(alias) ?? 0) + 1);
  const retryAt = new Map<string, number>();
  /** Per template: no refill before this time (a claim just left one ready). */
  const refillAfter = new Map<string, number>();

  const list = (alias: string): PooledSandbox[] => {
    let entries = ready.get(alias);
    if (entries === undefined) ready.set(alias, (entries = []));
    return entries;
  };
  const totalHeld = (): number => [...heldMB.values()].reduce((a, b) => a + b, 0);
  const expected = (alias: string): number => measuredMB.get(alias) ?? estimateMB(alias);

  const discard = (entry: PooledSandbox, why: string): void => {
    heldMB.delete(entry.sandboxId);
    logger.info({ sandboxId: entry.sandboxId, template: entry.templateAlias, why }, 'pooled sandbox discarded');
    runtime.destroy(entry.sandboxId).catch((err: unknown) => logger.warn({ sandboxId: entry.sandboxId, err }, 'destroying a pooled sandbox failed'));
  };

  /** The next template that wants a sandbox and fits the budget, or undefined. */
  const nextToFill = (): string | undefined => {
    const now = Date.now();
    for (const [alias, target] of sizes) {
      if (list(alias).length >= target) continue;
      if ((retryAt.get(alias) ?? 0) > now) continue;
      if ((refillAfter.get(alias) ?? 0) > now && list(alias).length > 0) continue;
      if (templates.resolve(alias) === undefined) continue;
      if (totalHeld() + expected(alias) > deps.memoryBudgetMB) continue;
      return alias;
    }
    return undefined;
  };

  async function bootOne(alias: string): Promise<void> {
    const template = templates.resolve(alias);
    if (template === undefined) return;
    const sandboxId = newSandboxId();
    const loopbackSecret = newAccessToken();
    const abort = new AbortController();
    const warmTimeoutMs = deps.warmTimeoutMs ?? 600_000;
    const identity = poolIdentity(sandboxId, template);
    heldMB.set(sandboxId, expected(alias));
    const done = (async () => {
      const startedAt = Date.now();
      const kernels = template.codeInterpreter ?? bootsKernels(alias);
      const spec = pooledSandboxSpec(sandboxId, template, kernels, loopbackSecret);
      // The template's image first (made now when there is none, which can take minutes on a loaded
      // box: the boot's deadline starts after it): a restore instead of a boot.
      const image = await deps.images?.ensure(template, kernels, { signal: abort.signal });
      const signal = AbortSignal.any([abort.signal, AbortSignal.timeout(deps.bootTimeoutMs)]);
      let restored: { address: string; generation: number } | undefined;
      if (image !== undefined) {
        try {
          const { address } = await runtime.createFromSnapshot(spec, image.snapshotId, { signal, timeoutMs: deps.bootTimeoutMs });
          const generation = Date.now();
          try {
            // The restored agent is the imaged sandbox (warm already): it becomes this one, with its own secret and hostname.
            await adoptAgent(address, image.loopbackSecret, { generation, ...identity, loopbackSecret, hostname: sandboxId }, { signal, timeoutMs: deps.bootTimeoutMs });
          } catch (error) {
            await runtime.destroy(sandboxId).catch(() => undefined);
            throw error;
          }
          restored = { address, generation };
        } catch (error) {
          // The image is set aside (the next attempt boots: a destroyed sandbox's id is not used again).
          if (!stopped) deps.images?.failed(image, error);
          throw error;
        }
      }
      const { address } = restored ?? (await runtime.create(spec, { signal, timeoutMs: deps.bootTimeoutMs }));
      const generation = restored?.generation ?? 1;
      // Warmed with precise timers; idle in the pool, they coarsen.
      const releaseTimers = runtime.holdTimers?.(sandboxId);
      try {
        // The pool's own adopt answers once the kernels are up and their warm-up imports are done.
        const warmSignal = AbortSignal.any([abort.signal, AbortSignal.timeout(warmTimeoutMs)]);
        if (restored === undefined) await adoptAgent(address, loopbackSecret, { generation, ...identity }, { signal: warmSignal, timeoutMs: warmTimeoutMs });
        const memory = await runtime.metrics(sandboxId, { timeoutMs: 5_000 }).then(
          (m) => Math.ceil(m.memUsedBytes / 1024 / 1024),
          () => undefined,
        );
        if (memory !== undefined) {
          measuredMB.set(alias, memory);
          heldMB.set(sandboxId, memory);
        }
        if (stopped) throw new SandboxdError(ErrorCode.CANCELED, 'the pool stopped');
        const entry: PooledSandbox = {
          sandboxId,
          templateId: template.templateId,
          templateAlias: alias,
          rootfsPath: template.rootfsPath,
          limits: template.limits,
          address,
          loopbackSecret,
          generation,
          egress: POOL_EGRESS,
        };
        list(alias).push(entry);
        failures.delete(alias);
        logger.info({ sandboxId, template: alias, ms: Date.now() - startedAt, memoryMB: memory, fromImage: restored !== undefined }, 'pooled sandbox ready');
      } catch (error) {
        await runtime.destroy(sandboxId).catch(() => undefined);
        throw error;
      } finally {
        releaseTimers?.();
      }
    })();
    booting = { alias, sandboxId, abort, done: done.catch(() => undefined) };
    try {
      await done;
    } catch (error) {
      heldMB.delete(sandboxId);
      if (stopped) return;
      const count = (failures.get(alias) ?? 0) + 1;
      failures.set(alias, count);
      const delay = Math.min(60_000, (deps.retryDelayMs ?? 1_000) * 2 ** (count - 1));
      retryAt.set(alias, Date.now() + delay);
      logger.warn({ template: alias, err: error, retryInMs: delay }, 'pool boot failed');
    } finally {
      booting = undefined;
    }
  }

  /** The one boot lane: fills the pool while something wants filling, then sleeps until woken. */
  async function run(): Promise<void> {
    while (!stopped) {
      const alias = nextToFill();
      if (alias === undefined) {
        // Asleep until a claim or a death wakes it, or the earliest retry of a failed template is due.
        const retries = [...retryAt.values(), ...refillAfter.values()].filter((at) => at > Date.now());
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          if (retries.length > 0) timer = setTimeout(resolve, Math.min(...retries) - Date.now() + 5).unref();
        });
        clearTimeout(timer);
        wake = undefined;
        continue;
      }
      await bootOne(alias);
    }
  }
  const refill = (): void => wake?.();

  const unsubscribe = runtime.onExit((sandboxId) => {
    for (const [alias, entries] of ready) {
      const at = entries.findIndex((e) => e.sandboxId === sandboxId);
      if (at < 0) continue;
      const [entry] = entries.splice(at, 1);
      if (entry) discard(entry, 'died while pooled');
      logger.warn({ sandboxId, template: alias }, 'pooled sandbox died; replacing it');
      refill();
    }
  });

  return {
    start() {
      if (started || stopped || sizes.size === 0) return;
      started = true;
      loop = run();
    },

    claim(templateAlias, templateId) {
      if (!sizes.has(templateAlias)) return undefined;
      const entries = list(templateAlias);
      let entry: PooledSandbox | undefined;
      while ((entry = entries.shift()) !== undefined) {
        if (entry.templateId === templateId) break;
        discard(entry, 'its template was rebuilt');
      }
      if (entry !== undefined) heldMB.delete(entry.sandboxId);
      count(entry === undefined ? misses : claims, templateAlias);
      if (entries.length > 0) refillAfter.set(templateAlias, Date.now() + (deps.refillDelayMs ?? REFILL_DELAY_MS));
      else refillAfter.delete(templateAlias);
      refill();
      return entry;
    },

    depth() {
      return [...sizes].map(([template, target]) => ({
        template,
        target,
        ready: ready.get(template)?.length ?? 0,
        booting: booting?.alias === template ? 1 : 0,
        claims: claims.get(template) ?? 0,
        misses: misses.get(template) ?? 0,
      }));
    },

    has(sandboxId) {
      for (const entries of ready.values()) if (entries.some((e) => e.sandboxId === sandboxId)) return true;
      return false;
    },

    async stop(options) {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      refill();
      booting?.abort.abort(new SandboxdError(ErrorCode.CANCELED, 'the daemon is shutting down'));
      const pooled = [...ready.values()].flat();
      ready.clear();
      heldMB.clear();
      await Promise.all([
        booting?.done,
        loop,
        ...pooled.map((entry) =>
          runtime.destroy(entry.sandboxId, options).catch((err: unknown) => logger.warn({ sandboxId: entry.sandboxId, err }, 'destroying a pooled sandbox failed')),
        ),
      ]);
      if (pooled.length > 0) logger.info({ destroyed: pooled.length }, 'pool emptied');
    },
  };
}
