import { Hono } from 'hono';
import type { Context } from 'hono';
import { ENVD_VERSION, ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { TemplateBuildService } from '../../templates/build-service.js';
import type { TemplateInfo } from '../../templates/template-store.js';
import { readBody } from './http.js';
import { assignTagsSchema, buildStartSchema, deleteTagsSchema, templateRequestSchema } from './templates-schemas.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** E2B's `Template` (list) shape of a template. */
function toTemplate(t: TemplateInfo, buildId: string) {
  return {
    templateID: t.templateId,
    buildID: buildId,
    cpuCount: t.limits.cpuCount,
    memoryMB: t.limits.memoryMB,
    diskSizeMB: t.limits.diskSizeMB,
    public: !t.userBuilt,
    aliases: t.aliases,
    names: t.aliases,
    createdAt: t.createdAt,
    updatedAt: t.createdAt,
    createdBy: null,
    lastSpawnedAt: null,
    spawnCount: 0,
    buildCount: 1,
    envdVersion: ENVD_VERSION,
    buildStatus: 'ready',
  };
}

/** A template whose first build runs (or failed), as `GET /templates/{id}` shows it. */
function pendingTemplate(builds: TemplateBuildService, idOrName: string): TemplateInfo | undefined {
  const pending = builds.pending(idOrName);
  if (pending === undefined) return undefined;
  const createdAt = builds.builds(pending.templateId).at(-1)?.createdAt ?? new Date().toISOString();
  return {
    templateId: pending.templateId,
    aliases: [pending.name],
    rootfsPath: '',
    limits: { cpuCount: pending.cpuCount, memoryMB: pending.memoryMB, pidsLimit: 1024, diskSizeMB: 4096 },
    createdAt,
    userBuilt: true,
  };
}

/**
 * E2B's template build API, as the official SDK's `Template` drives it: request (`POST
 * /v3/templates`, older `POST /v2/templates`), upload links for COPY files, start
 * (`POST /v2/templates/{id}/builds/{buildID}`), status with logs, alias check, tags, list, delete.
 */
export function templateRoutes(builds: TemplateBuildService): Hono {
  const app = new Hono();

  const request = async (c: Context) => {
    const body = await readBody(c, templateRequestSchema);
    return builds.request({
      name: (body.name ?? body.alias) as string,
      ...(body.tags !== undefined ? { tags: body.tags } : {}),
      ...(body.cpuCount !== undefined ? { cpuCount: body.cpuCount } : {}),
      ...(body.memoryMB !== undefined ? { memoryMB: body.memoryMB } : {}),
    });
  };
  app.post('/v3/templates', async (c) => c.json(await request(c), 202));
  app.post('/v2/templates', async (c) => {
    const made = await request(c);
    const now = new Date().toISOString();
    return c.json({ templateID: made.templateID, buildID: made.buildID, cpuCount: 2, memoryMB: 1024, diskSizeMB: 4096, public: false, aliases: made.aliases, createdAt: now, updatedAt: now, createdBy: null, lastSpawnedAt: null, spawnCount: 0, buildCount: 0, envdVersion: ENVD_VERSION }, 202);
  });

  app.get('/templates/:templateID/files/:hash', (c) => {
    const origin = new URL(c.req.url).origin;
    return c.json(builds.uploadLink(c.req.param('templateID'), c.req.param('hash'), origin), 201);
  });

  app.post('/v2/templates/:templateID/builds/:buildID', async (c) => {
    const def = await readBody(c, buildStartSchema);
    builds.start(c.req.param('templateID'), c.req.param('buildID'), def);
    // An explicit empty length: the SDK's client parses any other 2xx body as JSON.
    return c.body(null, 202, { 'Content-Length': '0' });
  });

  app.get('/templates/:templateID/builds/:buildID/status', (c) => {
    const q = new URL(c.req.url).searchParams;
    const int = (name: string, fallback: number) => {
      const raw = q.get(name);
      if (raw === null) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0) throw new SandboxdError(ErrorCode.BAD_REQUEST, `${name} must be a non-negative integer`);
      return n;
    };
    const level = q.get('level');
    if (level !== null && !(LEVELS as readonly string[]).includes(level)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `level must be one of ${LEVELS.join(', ')}`);
    return c.json(
      builds.status(c.req.param('templateID'), c.req.param('buildID'), {
        offset: int('logsOffset', 0),
        limit: Math.min(int('limit', 100), 100),
        ...(level !== null ? { level: level as (typeof LEVELS)[number] } : {}),
      }),
    );
  });

  app.get('/templates/aliases/:alias', (c) => {
    const t = builds.find(c.req.param('alias'));
    if (!t) throw new SandboxdError(ErrorCode.NOT_FOUND, `template alias "${c.req.param('alias')}" not found`);
    return c.json({ templateID: t.templateId, public: !t.userBuilt });
  });

  app.get('/templates', (c) => c.json(builds.list().map((t) => toTemplate(t, builds.built().find((b) => b.templateId === t.templateId)?.buildId ?? t.templateId))));
  app.get('/v2/templates', (c) => c.json(builds.list().map((t) => toTemplate(t, builds.built().find((b) => b.templateId === t.templateId)?.buildId ?? t.templateId))));

  // E2B's `TemplateWithBuilds`: a template (by id or name) with its builds and their status.
  app.get('/templates/:templateID', (c) => {
    const id = c.req.param('templateID');
    const t = builds.find(id) ?? pendingTemplate(builds, id);
    if (!t) throw new SandboxdError(ErrorCode.TEMPLATE_NOT_FOUND, `template "${id}" not found`);
    const listed = builds.builds(t.templateId);
    const own = listed.length > 0 ? listed : [{ buildId: t.templateId, status: 'ready' as const, createdAt: t.createdAt, updatedAt: t.createdAt, finishedAt: t.createdAt }];
    return c.json({
      templateID: t.templateId,
      public: !t.userBuilt,
      aliases: t.aliases,
      names: t.aliases,
      createdAt: t.createdAt,
      updatedAt: own[0]?.updatedAt ?? t.createdAt,
      lastSpawnedAt: null,
      spawnCount: 0,
      builds: own.map((b) => ({
        buildID: b.buildId,
        status: b.status,
        createdAt: b.createdAt,
        updatedAt: b.updatedAt,
        ...(b.finishedAt !== undefined ? { finishedAt: b.finishedAt } : {}),
        cpuCount: t.limits.cpuCount,
        memoryMB: t.limits.memoryMB,
        diskSizeMB: t.limits.diskSizeMB,
        envdVersion: ENVD_VERSION,
      })),
    });
  });

  app.get('/templates/:templateID/tags', (c) => c.json(builds.tags(c.req.param('templateID'))));
  app.post('/templates/tags', async (c) => {
    const body = await readBody(c, assignTagsSchema);
    return c.json(await builds.assignTags(body.target, body.tags), 201);
  });
  app.delete('/templates/tags', async (c) => {
    const body = await readBody(c, deleteTagsSchema);
    await builds.removeTags(body.name, body.tags);
    return c.body(null, 204);
  });

  // sandboxd's own: cached layers and uploads no template and no running sandbox uses (`sandboxd template prune`).
  app.post('/templates/prune', async (c) => c.json(await builds.prune()));

  app.delete('/templates/:templateID', async (c) => {
    const id = c.req.param('templateID');
    const t = builds.find(id);
    if (t && !t.userBuilt) throw new SandboxdError(ErrorCode.FORBIDDEN, `"${id}" is a built-in template; it cannot be deleted`);
    if (!(await builds.remove(id))) throw new SandboxdError(ErrorCode.NOT_FOUND, `template "${id}" not found`);
    return c.body(null, 204);
  });
  return app;
}

/**
 * The upload route the upload links point at: no API key (the SDK sends none to an upload URL),
 * the link's signature instead; the body streams to disk, past the API's body limit.
 */
export function templateUploadRoute(builds: TemplateBuildService): Hono {
  const app = new Hono();
  app.put('/templates/:templateID/files/:hash/upload', async (c) => {
    await builds.acceptUpload(c.req.param('templateID'), c.req.param('hash'), c.req.query('token') ?? '', c.req.raw.body);
    return c.body(null, 200, { 'Content-Length': '0' });
  });
  return app;
}
