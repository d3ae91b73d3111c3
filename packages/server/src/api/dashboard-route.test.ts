import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../app.js';
import { createApiKeyStore } from '../auth/api-keys.js';
import { createSandboxService } from '../sandboxes/sandbox-service.js';
import { openDatabase } from '../store/database.js';
import { createSandboxRepo } from '../store/sandbox-repo.js';
import { FakeRuntime } from '../testing/fake-runtime.js';
import { TEST_API_KEY, silentLogger, staticTemplates } from '../testing/harness.js';
import { DASHBOARD_CSP, dashboardRoute, defaultDashboardDir } from './dashboard-route.js';

const dir = mkdtempSync(join(tmpdir(), 'sandboxd-dashboard-'));
mkdirSync(join(dir, 'assets'));
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
writeFileSync(join(dir, 'assets/app.js'), 'export {};');
writeFileSync(join(dir, 'assets/app.css'), 'body{}');
writeFileSync(join(dir, 'assets/favicon.svg'), '<svg/>');
writeFileSync(join(dir, 'assets/secret.key'), 'not an asset type');
const runtimes: FakeRuntime[] = [];
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const r of runtimes) await r.close();
});

function checkSecurityHeaders(res: Response) {
  assert.equal(res.headers.get('content-security-policy'), DASHBOARD_CSP);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
}

describe('dashboard route', () => {
  const app = dashboardRoute({ dir });

  it('serves the page at /dashboard and /dashboard/ with its content type and the strict CSP', async () => {
    for (const path of ['/dashboard', '/dashboard/', '/dashboard/index.html']) {
      const res = await app.request(path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      checkSecurityHeaders(res);
      assert.equal(await res.text(), '<!doctype html><title>t</title>');
    }
  });

  it('serves each asset with its own content type', async () => {
    const types = { 'assets/app.js': 'text/javascript; charset=utf-8', 'assets/app.css': 'text/css; charset=utf-8', 'assets/favicon.svg': 'image/svg+xml' };
    for (const [name, type] of Object.entries(types)) {
      const res = await app.request(`/dashboard/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get('content-type'), type, name);
      assert.equal(Number(res.headers.get('content-length')), (await res.arrayBuffer()).byteLength);
      checkSecurityHeaders(res);
    }
  });

  it('answers 404 for files it does not know, unknown types and escapes from its folder', async () => {
    for (const path of ['/dashboard/nope.js', '/dashboard/assets/secret.key', '/dashboard/assets/../../etc/passwd', '/dashboard/%2e%2e/%2e%2e/etc/passwd', '/dashboard/assets']) {
      const res = await app.request(path);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    }
  });

  it('answers 503 naming the build when the assets are missing', async () => {
    const res = await dashboardRoute({ dir: join(dir, 'missing') }).request('/dashboard');
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run build/);
  });

  it('finds the built package by default', () => {
    assert.match(defaultDashboardDir(), /packages\/dashboard\/dist\/public\/$/);
  });
});

describe('dashboard in the app', () => {
  it('needs no API key, while the REST routes still do', async () => {
    const db = openDatabase(':memory:');
    const runtime = new FakeRuntime();
    runtimes.push(runtime);
    const sandboxes = createSandboxService({ runtime, templates: staticTemplates(), repo: createSandboxRepo(db), logger: silentLogger, createTimeoutMs: 5000 });
    const app = createApp({ sandboxes, apiKeys: createApiKeyStore(db, TEST_API_KEY), logger: silentLogger, domain: 'sandboxd.test', defaultTimeoutSec: 300, maxTimeoutSec: 3600, dashboardDir: dir });
    const page = await app.request('/dashboard');
    assert.equal(page.status, 200);
    checkSecurityHeaders(page);
    assert.equal((await app.request('/dashboard/assets/app.js')).status, 200);
    assert.equal((await app.request('/v2/sandboxes')).status, 401);
    assert.equal((await app.request('/dashboardx')).status, 401);
  });
});
