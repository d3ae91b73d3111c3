import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ErrorCode, SandboxdError, isSandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import type { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import { newAccessToken, newSandboxId } from '../sandboxes/ids.js';
import type { TemplateInfo, TemplateStore } from '../templates/template-store.js';
import { linkSignals } from '../util/abort.js';
import { waitTemplateReady } from '../runtime/template-ready-client.js';
import { adoptAgent } from './adopt-client.js';
import { bootsKernels, poolIdentity, pooledSandboxSpec } from './warm-pool.js';

/**
 * A template's snapshot: a sandbox of it booted once, warmed (kernels up, heavy imports done, as
 * the pool warms) and checkpointed. Cold creates and pool refills restore it instead of booting,
 * then the agent adopts the request's identity. The image itself is a runtime snapshot
 * (`snapshotId`, with its runsc and agent versions); this is the daemon's record of it.
 */
export interface TemplateImage {
  /** What the image was made of (template, its boot configuration): another key is another image. */
  key: string;
  snapshotId: string;
  templateId: string;
  /** Whether the imaged sandbox booted the code-interpreter kernels. */
  kernels: boolean;
  /** The daemon secret the imaged agent holds: the first adopt of a restored sandbox needs it. */
  loopbackSecret: string;
  createdAt: string;
}

export interface TemplateImages {
  /**
   * Checks the recorded images (a stale one, of another template build, runsc or agent, is
   * deleted) and makes the missing ones of every template in the background, one at a time.
   */
  start(): void;
  /** Makes the images of templates that have none (a template was just built). */
  refresh(): void;
  /** The ready image of `template` booted with or without kernels, or undefined (one is then made in the background). */
  get(template: TemplateInfo, kernels: boolean): TemplateImage | undefined;
  /** The image, made first when there is none; undefined when it cannot be made (the caller boots cold). */
  ensure(template: TemplateInfo, kernels: boolean, options?: OperationOptions): Promise<TemplateImage | undefined>;
  /** A restore from `image` failed: it is deleted, and made again only after the retry delay. */
  failed(image: TemplateImage, error: unknown): void;
  /** Stops making images (the one in progress is abandoned and its sandbox destroyed). */
  stop(): Promise<void>;
}

export interface TemplateImagesDeps {
  runtime: SandboxRuntime;
  templates: TemplateStore;
  logger: Logger;
  /** Where the records live (`$SANDBOXD_HOME/template-images`); the images are the runtime's snapshots. */
  dir: string;
  /** Deadline of the imaged sandbox's start (up to its agent's `/health`). */
  bootTimeoutMs: number;
  /** Deadline of its warm-up (kernels, imports); default 10 min, as the pool's. */
  warmTimeoutMs?: number;
  /** Wait before a template whose image could not be made is tried again; default 10 min. */
  retryDelayMs?: number;
  /** Waits before each retry of a snapshot runsc refused, ms (default 1 s, then 3 s). */
  snapshotRetryDelaysMs?: number[];
}

/** Whether a create of `alias` boots the kernels (as `create` decides). */
export const kernelsFor = (template: TemplateInfo, alias: string): boolean => template.codeInterpreter ?? bootsKernels(alias);

/** The image a template's default name boots (what the daemon makes ahead). */
const defaultKernels = (template: TemplateInfo): boolean => kernelsFor(template, template.aliases[0] ?? template.templateId);

/** Everything the imaged sandbox's boot depended on, hashed: a change is another image. */
export function imageKey(template: TemplateInfo, kernels: boolean): string {
  const boot = {
    templateId: template.templateId,
    rootfsPath: template.rootfsPath,
    limits: template.limits,
    env: template.env ?? {},
    defaultUser: template.defaultUser ?? null,
    defaultWorkdir: template.defaultWorkdir ?? null,
    startCmd: template.startCmd ?? null,
    kernels,
  };
  return createHash('sha256').update(JSON.stringify(boot)).digest('hex').slice(0, 24);
}

const RECORD = /^[0-9a-f]{24}\.json$/;

/** The snapshot ids of template images start with it (other snapshots' ids are sandbox-style ids). */
export const TEMPLATE_IMAGE_PREFIX = 'template-';

export function createTemplateImages(deps: TemplateImagesDeps): TemplateImages {
  const { runtime, templates, logger } = deps;
  const ready = new Map<string, TemplateImage>();
  const making = new Map<string, Promise<TemplateImage | undefined>>();
  /** Keys whose image could not be made, and when to try again. */
  const retryAt = new Map<string, number>();
  const stopping = new AbortController();
  let lane: Promise<unknown> = Promise.resolve();
  let loaded: Promise<void> | undefined;
  let stopped = false;

  const recordPath = (key: string): string => join(deps.dir, `${key}.json`);

  async function drop(image: TemplateImage, why: string): Promise<void> {
    if (ready.get(image.key) === image) ready.delete(image.key);
    await rm(recordPath(image.key), { force: true });
    await runtime.deleteSnapshot(image.snapshotId).catch((err: unknown) => logger.warn({ snapshotId: image.snapshotId, err }, 'deleting a template image failed'));
    logger.info({ templateId: image.templateId, snapshotId: image.snapshotId, why }, 'template image deleted');
  }

  /** Reads the records once: current, restorable images are ready; the others are deleted. */
  function load(): Promise<void> {
    loaded ??= (async () => {
      await mkdir(deps.dir, { recursive: true, mode: 0o700 });
      const current = new Set(templates.list().flatMap((t) => [imageKey(t, true), imageKey(t, false)]));
      for (const name of await readdir(deps.dir).catch(() => [] as string[])) {
        if (!RECORD.test(name)) continue;
        const image = await readFile(join(deps.dir, name), 'utf8').then(
          (text) => JSON.parse(text) as TemplateImage,
          () => undefined,
        );
        if (image === undefined || `${image.key}.json` !== name) {
          await rm(join(deps.dir, name), { force: true });
          continue;
        }
        if (!current.has(image.key)) {
          await drop(image, 'its template was rebuilt or removed');
          continue;
        }
        try {
          await runtime.checkSnapshot(image.snapshotId, { signal: stopping.signal });
          ready.set(image.key, image);
        } catch (error) {
          await drop(image, SandboxdError.from(error).message);
        }
      }
      // Images without a record (a crash between the image and its record, a record lost) are of no use.
      const recorded = new Set([...ready.values()].map((i) => i.snapshotId));
      for (const id of await runtime.listSnapshots().catch(() => [] as string[])) {
        if (!id.startsWith(TEMPLATE_IMAGE_PREFIX) || recorded.has(id)) continue;
        await runtime.deleteSnapshot(id).catch(() => undefined);
        logger.info({ snapshotId: id }, 'template image without a record deleted');
      }
    })();
    return loaded;
  }

  /**
   * Freezes the sandbox and writes the snapshot; a refusal (a TCP connection runsc cannot save,
   * such as one the host opened that the agent has not accepted yet) is retried after the sandbox
   * ran a while, thawed, so that its programs and gVisor's TCP timers close what was open.
   */
  async function snapshotWithRetries(sandboxId: string, snapshotId: string, signal: AbortSignal): Promise<{ diskBytes: number }> {
    const delays = deps.snapshotRetryDelaysMs ?? [1_000, 3_000];
    for (let attempt = 0; ; attempt++) {
      await runtime.freeze(sandboxId, { signal });
      try {
        return await runtime.snapshot(sandboxId, snapshotId, { signal, timeoutMs: 120_000 });
      } catch (error) {
        const delay = delays[attempt];
        if (delay === undefined || signal.aborted || !(isSandboxdError(error) && error.code === ErrorCode.RUNTIME_FAILURE)) throw error;
        logger.warn({ sandboxId, attempt: attempt + 1, retryInMs: delay, err: error }, 'template image refused; retrying');
        await runtime.thaw(sandboxId, { signal });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Boots a sandbox of the template, warms it, checkpoints it into a snapshot, destroys it. */
  async function make(template: TemplateInfo, kernels: boolean, key: string, signal: AbortSignal): Promise<TemplateImage> {
    const startedAt = Date.now();
    const sandboxId = newSandboxId();
    const loopbackSecret = newAccessToken();
    const snapshotId = `${TEMPLATE_IMAGE_PREFIX}${key}`;
    const identity = poolIdentity(sandboxId, template);
    const { address } = await runtime.create(pooledSandboxSpec(sandboxId, template, kernels, loopbackSecret), { signal, timeoutMs: deps.bootTimeoutMs });
    // Warmed and imaged with precise timers: nothing here waits on the idle sandbox's coarse ones.
    const releaseTimers = runtime.holdTimers?.(sandboxId);
    try {
      const booted = Date.now();
      // Answers once the kernels are up and their warm-up imports are done (as for the pool).
      const warmMs = deps.warmTimeoutMs ?? 600_000;
      await adoptAgent(address, loopbackSecret, { generation: 1, ...identity }, { signal: linkSignals(signal, AbortSignal.timeout(warmMs)), timeoutMs: warmMs });
      // A template with a start command is imaged once its ready command passed (as E2B snapshots
      // the ready VM): a sandbox restored from the image is ready at once.
      if (template.startCmd !== undefined || template.readyCmd !== undefined) await waitTemplateReady(address, loopbackSecret, { signal, timeoutMs: warmMs });
      const warmed = Date.now();
      const { diskBytes } = await snapshotWithRetries(sandboxId, snapshotId, signal);
      const image: TemplateImage = { key, snapshotId, templateId: template.templateId, kernels, loopbackSecret, createdAt: new Date().toISOString() };
      // The record (it holds the secret) is written aside and renamed: present only when complete.
      await writeFile(`${recordPath(key)}.partial`, JSON.stringify(image), { mode: 0o600 });
      await rename(`${recordPath(key)}.partial`, recordPath(key));
      // Creates restore from it from now on, not only once the imaged sandbox below is destroyed
      // (a teardown of a few hundred ms, during which they would boot cold).
      ready.set(key, image);
      retryAt.delete(key);
      logger.info(
        { templateId: template.templateId, snapshotId, kernels, imagedSandboxId: sandboxId, bootMs: booted - startedAt, warmMs: warmed - booted, snapshotMs: Date.now() - warmed, diskBytes },
        'template image made',
      );
      return image;
    } finally {
      releaseTimers?.();
      await runtime.destroy(sandboxId).catch((err: unknown) => logger.warn({ sandboxId, err }, 'destroying the imaged sandbox failed'));
    }
  }

  function ensure(template: TemplateInfo, kernels: boolean, options: OperationOptions = {}): Promise<TemplateImage | undefined> {
    const key = imageKey(template, kernels);
    const existing = ready.get(key);
    if (existing !== undefined) return Promise.resolve(existing);
    if (stopped || (retryAt.get(key) ?? 0) > Date.now()) return Promise.resolve(undefined);
    let pending = making.get(key);
    if (pending === undefined) {
      // Never rejects: a failure means no image (the callers boot).
      const run = async (): Promise<TemplateImage | undefined> => {
        try {
          await load();
          const found = ready.get(key);
          if (found !== undefined || stopped) return found;
          return await make(template, kernels, key, stopping.signal);
        } catch (error) {
          if (stopped) return undefined;
          const delay = deps.retryDelayMs ?? 600_000;
          retryAt.set(key, Date.now() + delay);
          logger.warn({ templateId: template.templateId, kernels, err: error, retryInMs: delay }, 'making a template image failed; its sandboxes boot cold');
          return undefined;
        }
      };
      // One image at a time: each is a boot, a warm-up and a checkpoint.
      pending = lane.then(run, run);
      lane = pending;
      making.set(key, pending);
      void pending.finally(() => making.delete(key));
    }
    const { signal } = options;
    if (signal === undefined) return pending;
    // A caller that gives up does not stop the image (the next caller wants it).
    return Promise.race([
      pending,
      new Promise<undefined>((resolve) => (signal.aborted ? resolve(undefined) : signal.addEventListener('abort', () => resolve(undefined), { once: true }))),
    ]);
  }

  /** Queues the default image of every template that has none. */
  function refresh(): void {
    if (stopped) return;
    for (const template of templates.list()) void ensure(template, defaultKernels(template));
  }

  return {
    start() {
      if (stopped) return;
      void load()
        .catch((err: unknown) => logger.warn({ err }, 'reading the template images failed'))
        .then(refresh);
    },
    refresh,
    get(template, kernels) {
      const image = ready.get(imageKey(template, kernels));
      if (image === undefined) void ensure(template, kernels);
      return image;
    },
    ensure,
    failed(image, error) {
      // A restore that met its deadline says nothing about the image.
      if (isSandboxdError(error) && (error.code === ErrorCode.TIMEOUT || error.code === ErrorCode.CANCELED)) return;
      const delay = deps.retryDelayMs ?? 600_000;
      // Made again after the delay: an image that cannot be restored must not cost every create a boot more.
      retryAt.set(image.key, Date.now() + delay);
      logger.warn({ templateId: image.templateId, snapshotId: image.snapshotId, err: error, retryInMs: delay }, 'a restore from the template image failed; it is deleted');
      drop(image, 'a restore from it failed').catch((err: unknown) => logger.warn({ snapshotId: image.snapshotId, err }, 'deleting a template image failed'));
    },
    async stop() {
      stopped = true;
      stopping.abort(new SandboxdError(ErrorCode.CANCELED, 'the daemon is shutting down'));
      await Promise.all([...making.values()].map((p) => p.catch(() => undefined)));
    },
  };
}
