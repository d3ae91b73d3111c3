import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createApp } from '../../app.js';
import { createApiKeyStore } from '../../auth/api-keys.js';
import { createSandboxService } from '../../sandboxes/sandbox-service.js';
import { openDatabase } from '../../store/database.js';
import { createSandboxRepo } from '../../store/sandbox-repo.js';
import { createTemplateBuildService } from '../../templates/build-service.js';
import { FakeRuntime } from '../../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../../testing/harness.js';

// The build API's routes in process: request, upload links and uploads, validation, aliases,
// list and delete. Builds themselves need gVisor: tests/e2e/src/template-build.test.ts.

const dir = mkdtempSync(join(tmpdir(), 'templates-api-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function setup() {
  const db = openDatabase(':memory:');
  const runtime = new FakeRuntime();
  const builds = createTemplateBuildService({ runtime, builtIn: staticTemplates(), dir, db, logger: silentLogger });
  const sandboxes = createSandboxService({ runtime, templates: builds.templates, repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });
  const app = createApp({ sandboxes, apiKeys: createApiKeyStore(db, TEST_API_KEY), logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600, templateBuilds: builds });
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = { 'x-api-key': TEST_API_KEY }) =>
    app.request(`http://127.0.0.1:3000${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { call, builds };
}

const body = async (res: Response): Promise<any> => res.json();

describe('template build API', () => {
  it('requests a build: ids, names and tags as the SDK reads them', async () => {
    const { call } = setup();
    const res = await call('POST', '/v3/templates', { name: 'my-app:v1', tags: ['stable'], cpuCount: 1, memoryMB: 512 });
    assert.equal(res.status, 202);
    const made = await body(res);
    assert.match(made.templateID, /^[a-z0-9]{20}$/);
    assert.match(made.buildID, /^[0-9a-f-]{36}$/);
    assert.deepEqual({ names: made.names, tags: made.tags, public: made.public }, { names: ['my-app'], tags: ['v1', 'stable'], public: false });
    const again = await body(await call('POST', '/v3/templates', { name: 'my-app' }));
    assert.equal(again.templateID, made.templateID, 'the same name is the same template');
    assert.notEqual(again.buildID, made.buildID);
    const status = await body(await call('GET', `/templates/${made.templateID}/builds/${made.buildID}/status`));
    assert.deepEqual(status, { templateID: made.templateID, buildID: made.buildID, status: 'waiting', logs: [], logEntries: [] });
  });

  it('rejects bad names, built-in names, unknown builds and bad queries', async () => {
    const { call } = setup();
    assert.equal((await call('POST', '/v3/templates', { name: 'Bad Name' })).status, 400);
    assert.equal((await call('POST', '/v3/templates', {})).status, 400);
    assert.equal((await call('POST', '/v3/templates', { name: 'base' })).status, 409);
    assert.equal((await call('GET', '/templates/nope/builds/nope/status')).status, 404);
    const made = await body(await call('POST', '/v3/templates', { name: 'q' }));
    assert.equal((await call('GET', `/templates/${made.templateID}/builds/${made.buildID}/status?logsOffset=-1`)).status, 400);
    assert.equal((await call('GET', `/templates/${made.templateID}/builds/${made.buildID}/status?level=loud`)).status, 400);
    assert.equal((await call('POST', `/v2/templates/${made.templateID}/builds/${made.buildID}`, { fromImageRegistry: { type: 'aws' } })).status, 400);
  });

  it("rejects tags E2B rejects (':x', 'x:', spaces, a UUID) with 400, before looking the template up", async () => {
    const { call } = setup();
    for (const tags of [[':invalid-tag'], ['app:'], ['two words'], ['0b3a2c1d-1111-2222-3333-444455556666']]) {
      const res = await call('POST', '/templates/tags', { target: 'nope:v1', tags });
      assert.equal(res.status, 400, JSON.stringify(tags));
      assert.match((await body(res)).message, /^Invalid tag: /);
      assert.equal((await call('DELETE', '/templates/tags', { name: 'nope', tags })).status, 400);
    }
    assert.equal((await call('POST', '/v3/templates', { name: 'tagged', tags: ['bad tag'] })).status, 400);
    assert.equal((await call('POST', '/templates/tags', { target: 'nope:v1', tags: [' Stable '] })).status, 404, 'a valid tag of an unknown template');
  });

  it('hands out signed upload links to the daemon itself and takes the upload without an API key', async () => {
    const { call } = setup();
    const made = await body(await call('POST', '/v3/templates', { name: 'up' }));
    const link = await call('GET', `/templates/${made.templateID}/files/hash123`);
    assert.equal(link.status, 201);
    const { present, url } = await body(link);
    assert.equal(present, false);
    assert.ok(url.startsWith(`http://127.0.0.1:3000/templates/${made.templateID}/files/hash123/upload?token=`), url);
    const path = new URL(url).pathname + new URL(url).search;
    assert.equal((await call('PUT', path.replace(/token=[0-9a-f]+/, 'token=00'), 'x', {})).status, 403);
    assert.equal((await call('PUT', path, 'tar bytes', {})).status, 200);
    assert.equal(readFileSync(join(dir, 'uploads', 'hash123.tar'), 'utf8'), 'tar bytes');
    assert.deepEqual(await body(await call('GET', `/templates/${made.templateID}/files/hash123`)), { present: true });
    assert.equal((await call('GET', `/templates/${made.templateID}/files/hash123`, undefined, {})).status, 401, 'other routes still need the key');
  });

  it('refuses to start a build whose COPY files were not uploaded, and a second start', async () => {
    const { call } = setup();
    const made = await body(await call('POST', '/v3/templates', { name: 'copy' }));
    const start = (steps: unknown[]) => call('POST', `/v2/templates/${made.templateID}/builds/${made.buildID}`, { fromTemplate: 'base', steps });
    const res = await start([{ type: 'COPY', args: ['app', '/srv/'], filesHash: 'never-uploaded' }]);
    assert.equal(res.status, 400);
    assert.match((await body(res)).message, /were not uploaded/);
  });

  it('answers aliases, lists templates and protects built-in ones', async () => {
    const { call } = setup();
    assert.deepEqual(await body(await call('GET', '/templates/aliases/base')), { templateID: 'tbase0000000000000001', public: true });
    assert.equal((await call('GET', '/templates/aliases/missing')).status, 404);
    const list = await body(await call('GET', '/templates'));
    assert.ok(list.some((t: { names: string[] }) => t.names.includes('base')));
    assert.equal((await call('DELETE', '/templates/base')).status, 403);
    assert.equal((await call('DELETE', '/templates/unknown')).status, 404);
    const uploads = existsSync(join(dir, 'uploads')) ? readdirSync(join(dir, 'uploads')).length : 0;
    assert.deepEqual(await body(await call('POST', '/templates/prune')), { layers: 0, uploads });
    assert.equal(existsSync(join(dir, 'uploads')) ? readdirSync(join(dir, 'uploads')).length : 0, 0);
  });

  it('GET /templates/{id}: a template with its builds (E2B TemplateWithBuilds), a pending one included; unknown ones 404', async () => {
    const { call } = setup();
    const base = await body(await call('GET', '/templates/base'));
    assert.equal(base.templateID, 'tbase0000000000000001');
    assert.equal(base.public, true);
    assert.deepEqual(base.builds.map((b: { status: string }) => b.status), ['ready']);
    for (const field of ['aliases', 'names', 'createdAt', 'updatedAt', 'lastSpawnedAt', 'spawnCount']) assert.ok(field in base, field);
    const made = await body(await call('POST', '/v3/templates', { name: 'pending-app', cpuCount: 1, memoryMB: 512 }));
    const second = await body(await call('POST', '/v3/templates', { name: 'pending-app' }));
    const pending = await body(await call('GET', `/templates/${made.templateID}`));
    assert.equal(pending.public, false);
    assert.deepEqual(pending.names, ['pending-app']);
    assert.deepEqual(pending.builds.map((b: { buildID: string; status: string }) => [b.buildID, b.status]).sort(), [[made.buildID, 'waiting'], [second.buildID, 'waiting']].sort());
    assert.equal(pending.builds[0].envdVersion !== undefined, true);
    assert.equal((await body(await call('GET', '/templates/pending-app'))).templateID, made.templateID, 'by name too');
    const missing = await call('GET', '/templates/nosuchtemplate');
    assert.equal(missing.status, 404);
    assert.equal((await body(missing)).error_code, 'TEMPLATE_NOT_FOUND');
  });
});
