import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { Logger } from 'pino';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import type { Db } from '../store/database.js';
import { BuildLog } from './build-log.js';
import { createBuildStore, type BuildReason, type BuildStatus } from './build-store.js';
import { BuildStepError, type BuildDefinition, type BuildLogEntry } from './build-types.js';
import { createBuiltTemplates, type BuiltTemplate } from './built-templates.js';
import { combineTemplateStores } from './combined-store.js';
import { createLayerCache } from './layer-cache.js';
import type { AptCachePruneResult } from './apt-cache-prune.js';
import { runBuild } from './template-builder.js';
import type { TemplateInfo, TemplateStore } from './template-store.js';

interface BuildState {
  buildId: string;
  status: BuildStatus;
  log: BuildLog;
  reason?: BuildReason;
  createdAt: string;
  finishedAt?: string;
}

/** One build of a template as `GET /templates/{id}` lists it. */
export interface TemplateBuildSummary {
  buildId: string;
  status: BuildStatus;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
}

/** A template asked for with `POST /v3/templates`, with the builds asked about since the start (all are in the store). */
interface Requested {
  templateId: string;
  name: string;
  tags: string[];
  cpuCount: number;
  memoryMB: number;
  builds: Map<string, BuildState>;
}

export interface TemplateBuildServiceDeps {
  runtime: SandboxRuntime;
  /** The built-in templates (the default one). */
  builtIn: TemplateStore;
  /** Where built templates, layers and uploads live. */
  dir: string;
  /** The daemon's database: requests, builds and their logs (`build-store.ts`). */
  db: Db;
  logger: Logger;
  /** Root filesystems in use (running sandboxes' `rootfsPath`): prune keeps their layers. */
  inUse?: () => string[];
  /** Told when a build has finished and its template is saved (the daemon then makes its image). */
  onBuilt?: (templateId: string) => void;
}

/** `name`, `name:tag`, `team/name:tag` → name and tag. */
export function splitName(full: string): { name: string; tag?: string } {
  const bare = full.split('/').pop() ?? full;
  const at = bare.indexOf(':');
  return at < 0 ? { name: bare } : { name: bare.slice(0, at), tag: bare.slice(at + 1) };
}

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const TAG = /^[a-z0-9-_.]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** E2B's tag rule: trimmed and lower-cased, letters, digits, `-`, `_`, `.`, and not a UUID (400 otherwise, as E2B words it). */
function validTags(tags: readonly string[]): string[] {
  const cleaned = tags.map((tag) => {
    const t = tag.trim().toLowerCase();
    if (!TAG.test(t)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `Invalid tag: invalid tag '${tag}': invalid tag: ${tag}`);
    if (UUID.test(t)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `Invalid tag: invalid tag '${tag}': tag cannot be a UUID`);
    return t;
  });
  return [...new Set(cleaned)];
}

/**
 * E2B's template build API over the layer builder: templates are requested (an id and a build
 * id), their COPY files uploaded to the daemon itself, then a build runs in the background; its
 * status and log are polled. A finished build becomes a template `Sandbox.create(name)` finds;
 * a failed one leaves nothing behind but its log.
 */
export function createTemplateBuildService(deps: TemplateBuildServiceDeps) {
  const built = createBuiltTemplates(join(deps.dir, 'templates'));
  const layers = createLayerCache(join(deps.dir, 'layers'));
  const uploadsDir = join(deps.dir, 'uploads');
  const templates = combineTemplateStores(deps.builtIn, built);
  const requested = new Map<string, Requested>();
  const store = createBuildStore(deps.db);
  const interrupted = store.failInterrupted(new Date().toISOString());
  if (interrupted > 0) deps.logger.warn({ builds: interrupted }, 'template builds the last daemon left running are marked failed');
  const secret = randomBytes(32);
  const abort = new AbortController();
  void layers.removePartials().catch(() => undefined);

  const sign = (templateId: string, hash: string) => createHmac('sha256', secret).update(`${templateId}\0${hash}`).digest('hex');
  const builtInNames = (): string[] => deps.builtIn.list().flatMap((t) => [...t.aliases, t.templateId]);

  const requestedOrBuilt = (templateId: string): Requested | undefined => {
    const own = requested.get(templateId);
    if (own) return own;
    const stored = store.request(templateId);
    const t = built.get(templateId);
    if (!stored && !t) return undefined;
    const entry: Requested = stored
      ? { ...stored, builds: new Map() }
      : { templateId, name: t?.names[0] ?? templateId, tags: t?.tags ?? [], cpuCount: t?.cpuCount ?? 2, memoryMB: t?.memoryMB ?? 1024, builds: new Map() };
    requested.set(templateId, entry);
    return entry;
  };

  /** A log that writes each entry to the store as it is added. */
  const storedLog = (buildId: string, entries: BuildLogEntry[] = []): BuildLog => {
    const log = new BuildLog();
    log.entries.push(...entries);
    log.onEntry((entry) => store.appendLog(buildId, log.entries.length - 1, entry));
    return log;
  };

  const save = (templateId: string, build: BuildState): void => {
    const { log: _log, ...rest } = build;
    store.saveBuild({ ...rest, templateId });
  };

  const buildOf = (templateId: string, buildId: string): BuildState => {
    const entry = requestedOrBuilt(templateId);
    let build = entry?.builds.get(buildId);
    if (entry && !build) {
      const stored = store.build(templateId, buildId);
      if (stored) {
        const { templateId: _id, ...state } = stored;
        build = { ...state, log: storedLog(buildId, store.log(buildId)) };
        entry.builds.set(buildId, build);
      }
    }
    if (!build) throw new SandboxdError(ErrorCode.NOT_FOUND, `build "${buildId}" of template "${templateId}" not found`);
    return build;
  };

  async function finish(entry: Requested, build: BuildState, def: BuildDefinition): Promise<void> {
    build.status = 'building';
    const started = Date.now();
    const existing = built.get(entry.templateId);
    const diskFallback = 4096;
    try {
      const out = await runBuild(
        { runtime: deps.runtime, templates, layers, uploadsDir },
        def,
        { cpuCount: entry.cpuCount, memoryMB: entry.memoryMB, pidsLimit: 1024, diskSizeMB: diskFallback },
        build.log,
        { signal: abort.signal },
      );
      const now = new Date().toISOString();
      const tags = [...new Set([...(existing?.tags ?? []), ...entry.tags])];
      const template: BuiltTemplate = {
        templateId: entry.templateId,
        names: [...new Set([entry.name, ...tags.map((t) => `${entry.name}:${t}`), ...(existing?.names ?? [])])],
        tags,
        buildId: build.buildId,
        lowers: out.lowers,
        layerKeys: out.layerKeys,
        env: out.env,
        defaultUser: out.context.user,
        defaultWorkdir: out.context.workdir,
        codeInterpreter: out.codeInterpreter,
        ...(out.startCmd !== undefined ? { startCmd: out.startCmd } : {}),
        ...(out.readyCmd !== undefined ? { readyCmd: out.readyCmd } : {}),
        cpuCount: entry.cpuCount,
        memoryMB: entry.memoryMB,
        diskSizeMB: out.diskSizeMB,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      await built.save(template);
      deps.onBuilt?.(entry.templateId);
      build.log.add('info', `Build finished in ${((Date.now() - started) / 1000).toFixed(1)} s (${out.cachedSteps} of ${def.steps.length} steps cached)`, 'finalize');
      build.status = 'ready';
    } catch (error) {
      const step = error instanceof BuildStepError ? error.step : undefined;
      const message = error instanceof BuildStepError ? error.message : SandboxdError.from(error).message;
      const output = error instanceof BuildStepError ? error.output : [];
      build.log.add('error', `Build failed: ${message}`, step);
      build.reason = {
        message: output.length > 0 ? `${message}\n${output.slice(-20).join('\n')}` : message,
        ...(step !== undefined ? { step } : {}),
        logEntries: step !== undefined ? build.log.tail(step) : [],
      };
      build.status = 'error';
      deps.logger.info({ templateId: entry.templateId, buildId: build.buildId, step, err: message }, 'template build failed');
    } finally {
      build.finishedAt = new Date().toISOString();
      save(entry.templateId, build);
    }
  }

  return {
    /** Built-in and built templates, as the sandbox service resolves them. */
    templates,

    request(input: { name: string; tags?: string[]; cpuCount?: number; memoryMB?: number }) {
      const { name, tag } = splitName(input.name);
      if (!NAME.test(name)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `invalid template name "${input.name}": lower-case letters, digits, '.', '_' and '-'`);
      if (builtInNames().includes(name)) throw new SandboxdError(ErrorCode.CONFLICT, `"${name}" is a built-in template's name`);
      const tags = validTags([...(tag ? [tag] : []), ...(input.tags ?? [])]);
      const existing = built.find(name);
      const templateId = existing?.templateId ?? [...requested.values()].find((r) => r.name === name)?.templateId ?? store.requestedId(name) ?? randomBytes(10).toString('hex');
      const entry: Requested = requestedOrBuilt(templateId) ?? { templateId, name, tags, cpuCount: 2, memoryMB: 1024, builds: new Map() };
      entry.name = name;
      entry.tags = tags.length > 0 ? tags : ['default'];
      entry.cpuCount = input.cpuCount ?? 2;
      entry.memoryMB = input.memoryMB ?? 1024;
      requested.set(templateId, entry);
      store.saveRequest({ templateId, name, tags: entry.tags, cpuCount: entry.cpuCount, memoryMB: entry.memoryMB });
      const buildId = randomUUID();
      const build: BuildState = { buildId, status: 'waiting', log: storedLog(buildId), createdAt: new Date().toISOString() };
      entry.builds.set(buildId, build);
      save(templateId, build);
      return { templateID: templateId, buildID: buildId, public: false, names: [name], aliases: [name], tags: entry.tags };
    },

    /** Whether the files are already here; else a signed URL on this daemon to PUT them to. */
    uploadLink(templateId: string, hash: string, origin: string): { present: boolean; url?: string } {
      if (!requestedOrBuilt(templateId)) throw new SandboxdError(ErrorCode.NOT_FOUND, `template "${templateId}" not found`);
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(hash)) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'invalid files hash');
      if (existsSync(join(uploadsDir, `${hash}.tar`))) return { present: true };
      return { present: false, url: `${origin}/templates/${templateId}/files/${hash}/upload?token=${sign(templateId, hash)}` };
    },

    async acceptUpload(templateId: string, hash: string, token: string, body: ReadableStream<Uint8Array> | null): Promise<void> {
      const expected = Buffer.from(sign(templateId, hash));
      const given = Buffer.from(token);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new SandboxdError(ErrorCode.FORBIDDEN, 'invalid upload token');
      if (!body) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'empty upload');
      await mkdir(uploadsDir, { recursive: true });
      const partial = join(uploadsDir, `${hash}.tar.partial-${randomBytes(4).toString('hex')}`);
      try {
        await pipeline(Readable.fromWeb(body as WebReadableStream), createWriteStream(partial));
        await rename(partial, join(uploadsDir, `${hash}.tar`));
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    },

    start(templateId: string, buildId: string, def: BuildDefinition): void {
      const build = buildOf(templateId, buildId);
      if (build.status !== 'waiting') throw new SandboxdError(ErrorCode.CONFLICT, `build "${buildId}" was already started`);
      for (const step of def.steps) {
        if (step.type.toUpperCase() === 'COPY' && step.filesHash && !existsSync(join(uploadsDir, `${step.filesHash}.tar`))) {
          throw new SandboxdError(ErrorCode.BAD_REQUEST, `the files of COPY ${step.args[0] ?? ''} (hash ${step.filesHash}) were not uploaded`);
        }
      }
      const entry = requestedOrBuilt(templateId) as Requested;
      build.status = 'building';
      save(templateId, build);
      void finish(entry, build, def);
    },

    status(templateId: string, buildId: string, query: { offset?: number; limit?: number; level?: BuildLogEntry['level'] }) {
      const build = buildOf(templateId, buildId);
      const entries = build.log.read(query.offset ?? 0, query.limit ?? 100, query.level);
      return {
        templateID: templateId,
        buildID: buildId,
        status: build.status,
        logs: entries.map((e) => `[${e.timestamp}] ${e.message}`),
        logEntries: entries,
        ...(build.reason ? { reason: build.reason } : {}),
      };
    },

    /**
     * The builds of a template, newest first: the ones this daemon ran or is running (in memory)
     * and the one a built template was made by (ready), for `GET /templates/{id}`.
     */
    builds(templateId: string): TemplateBuildSummary[] {
      const out: TemplateBuildSummary[] = [...(requested.get(templateId)?.builds.values() ?? [])].map((b) => ({
        buildId: b.buildId,
        status: b.status,
        createdAt: b.createdAt,
        updatedAt: b.finishedAt ?? b.createdAt,
        ...(b.finishedAt !== undefined ? { finishedAt: b.finishedAt } : {}),
      }));
      const t = built.get(templateId);
      if (t && !out.some((b) => b.buildId === t.buildId)) out.push({ buildId: t.buildId, status: 'ready', createdAt: t.updatedAt, updatedAt: t.updatedAt, finishedAt: t.updatedAt });
      return out.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
    },

    /** A template requested (by id or name) but not (yet) built: its first build runs or failed. */
    pending(idOrName: string): { templateId: string; name: string; cpuCount: number; memoryMB: number } | undefined {
      const entry = requested.get(idOrName) ?? [...requested.values()].find((r) => r.name === idOrName);
      if (entry === undefined || built.get(entry.templateId)) return undefined;
      return { templateId: entry.templateId, name: entry.name, cpuCount: entry.cpuCount, memoryMB: entry.memoryMB };
    },

    /** The template a name or id means, built in or built. */
    find(nameOrId: string): TemplateInfo | undefined {
      return templates.resolve(nameOrId);
    },

    list: () => templates.list(),
    built: () => built.list(),

    tags(templateId: string) {
      const t = built.get(templateId);
      if (!t) throw new SandboxdError(ErrorCode.NOT_FOUND, `template "${templateId}" not found`);
      return t.tags.map((tag) => ({ tag, buildID: t.buildId, createdAt: t.updatedAt }));
    },

    async assignTags(target: string, requestedTags: string[]) {
      const tags = validTags(requestedTags);
      const t = built.find(target);
      if (!t) throw new SandboxdError(ErrorCode.NOT_FOUND, `template "${target}" not found`);
      const name = splitName(t.names[0] ?? target).name;
      t.tags = [...new Set([...t.tags, ...tags])];
      t.names = [...new Set([...t.names, ...tags.map((tag) => `${name}:${tag}`)])];
      await built.save(t);
      return { tags, buildID: t.buildId };
    },

    async removeTags(nameOrId: string, requestedTags: string[]) {
      const tags = validTags(requestedTags);
      const t = built.find(nameOrId);
      if (!t) throw new SandboxdError(ErrorCode.NOT_FOUND, `template "${nameOrId}" not found`);
      t.tags = t.tags.filter((tag) => !tags.includes(tag));
      t.names = t.names.filter((n) => !tags.some((tag) => n.endsWith(`:${tag}`)));
      await built.save(t);
    },

    /** Deletes a built template (its layers stay cached until `prune`). */
    async remove(nameOrId: string): Promise<boolean> {
      const t = built.find(nameOrId);
      if (!t) return false;
      requested.delete(t.templateId);
      store.removeTemplate(t.templateId);
      return built.remove(t.templateId);
    },

    /** Removes cached layers and uploads no template and no running sandbox uses, and prunes the apt archive cache. */
    async prune(): Promise<{ layers: number; uploads: number; aptArchives?: AptCachePruneResult }> {
      const keep = new Set(built.list().flatMap((t) => t.layerKeys));
      const used = (deps.inUse?.() ?? []).join(':');
      let removedLayers = 0;
      for (const key of layers.keys()) {
        if (keep.has(key) || used.includes(join(layers.dir, key))) continue;
        await layers.remove(key);
        removedLayers += 1;
      }
      let removedUploads = 0;
      const running = [...requested.values()].some((r) => [...r.builds.values()].some((b) => b.status === 'building' || b.status === 'waiting'));
      if (!running && existsSync(uploadsDir)) {
        for (const name of readdirSync(uploadsDir)) {
          await rm(join(uploadsDir, name), { force: true });
          removedUploads += 1;
        }
      }
      const aptArchives = await deps.builtIn.pruneCache?.();
      return { layers: removedLayers, uploads: removedUploads, ...(aptArchives ? { aptArchives } : {}) };
    },

    /** Cancels running builds (the daemon is stopping). */
    stop(): void {
      abort.abort(new SandboxdError(ErrorCode.CANCELED, 'the daemon is shutting down'));
    },
  };
}

export type TemplateBuildService = ReturnType<typeof createTemplateBuildService>;
