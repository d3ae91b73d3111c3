import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import { Template } from 'e2b';
import { launch, type Browser, type Page } from 'puppeteer-core';
import { CALL_MS, RUN_ID, e2eTest, rest, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

// The dashboard's admin pages in headless Chromium: a template's builds (GET /templates/{id}) with
// status, progress and log while it builds through the SDK; API keys (/keys) made and revoked.

const CHROMIUM = process.env['SANDBOXD_CHROMIUM'] ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../artifacts/dashboard-admin');
const UI_MS = 30_000;
const BUILD_MS = 600_000;

let stack: Stack;
let builtDir: string;
let browser: Browser | undefined;
let page: Page;
const problems: string[] = [];
const test = e2eTest(() => stack);
const name = `dash-build-${RUN_ID}`;

const shot = (file: string) => page.screenshot({ path: join(ARTIFACTS, `${file}.png`), fullPage: true });
const textOf = (selector: string): Promise<string> => page.$eval(selector, (el) => el.textContent ?? '').catch(() => '');
async function waitText(selector: string, pattern: RegExp, label: string, ms = UI_MS): Promise<string> {
  let last = '';
  try {
    await waitFor(async () => pattern.test((last = await textOf(selector))), ms, label, 250);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${selector} should match ${pattern}, it shows ${JSON.stringify(last.slice(-400))}`, { cause: err });
  }
  return last;
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does)`);
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  builtDir = mkdtempSync(join(tmpdir(), 'sandboxd-built-'));
  stack = await startStack({ env: { SANDBOXD_BUILT_TEMPLATES_DIR: builtDir } });
  browser = await launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'], timeout: CALL_MS });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('pageerror', (err) => problems.push(`page error: ${String(err)}`));
});
after(async () => {
  await browser?.close().catch(() => undefined);
  await stack?.stop();
  rmSync(builtDir, { recursive: true, force: true });
});

describe('dashboard admin pages in headless Chromium', () => {
  test('a build started through the SDK shows on its template page: status, step progress and log, then ready; the list has the template', BUILD_MS, async () => {
    await page.goto(`${stack.apiUrl}/dashboard`, { timeout: CALL_MS });
    await page.waitForSelector('#apiKey', { timeout: UI_MS });
    await page.type('#apiKey', stack.apiKey);
    await page.keyboard.press('Enter');
    await page.waitForSelector('header nav a[href="#/templates"]', { timeout: UI_MS });

    // Three steps, the last one slow enough to be seen running.
    const template = Template().fromTemplate('base').runCmd(`echo first-${RUN_ID}`).runCmd('echo second').runCmd(`sleep 6; echo last-${RUN_ID}`);
    const building = withTimeout(Template.build(template, name, { ...stack.sdk, cpuCount: 1, memoryMB: 512 }), BUILD_MS, 'Template.build');
    building.catch(() => undefined);

    // The template is known by name as soon as it was requested (before it is built).
    const info = await waitFor(
      async () => {
        const res = await rest(stack, 'GET', `/templates/${name}`);
        return res.status === 200 && (res.json as { templateID: string; builds: Array<{ status: string }> });
      },
      CALL_MS,
      'GET /templates/{name} while building',
      500,
    );
    assert.equal(info.builds.length, 1);
    await page.goto(`${stack.apiUrl}/dashboard#/templates/${info.templateID}`, { timeout: CALL_MS });
    await page.waitForSelector('[data-testid=builds]', { timeout: UI_MS });
    await waitText('[data-testid=template-names]', new RegExp(name), 'the template named on its page');
    const running = await waitText('[data-testid=build-progress]', /step [1-3] of 3|checking the start/, 'progress of the running build', BUILD_MS / 2);
    assert.match(await textOf('[data-testid=builds]'), /building|waiting/);
    await shot('01-build-running');
    console.error(`[e2e] progress while building: ${running}`);

    await building;
    await waitText('[data-testid=builds]', /ready/, 'the build listed as ready');
    await waitText('[data-testid=build-progress]', /all 3 steps done/, 'progress complete');
    const log = await textOf('pre.logs');
    assert.match(log, new RegExp(`first-${RUN_ID}`));
    assert.match(log, new RegExp(`last-${RUN_ID}`));
    assert.match(log, /Build finished/);
    await shot('02-build-ready');

    await page.click('header nav a[href="#/templates"]');
    await waitText(`tr[data-template-id="${info.templateID}"]`, new RegExp(name), 'the built template listed');
    await shot('03-templates-list');
    assert.deepEqual(problems, []);
  });

  test('the keys page makes a scoped key (shown once) that the API accepts within its scopes, and revokes it', CALL_MS * 3, async () => {
    await page.click('header nav a[href="#/keys"]');
    await page.waitForSelector('[data-testid=keys]', { timeout: UI_MS });
    const keyName = `dash-key-${RUN_ID}`;
    await page.type('[data-testid=new-key-form] input[aria-label=Name]', keyName);
    // Default scopes: create, use, read; add metrics:read.
    await page.click('[data-testid=new-key-form] input[value="metrics:read"]');
    await page.type('[data-testid=new-key-form] input[aria-label="Max sandboxes"]', '2');
    await page.click('[data-testid=new-key-form] button[type=submit]');
    const secret = await waitText('[data-testid=new-key]', /^e2b_[0-9a-f]{40}$/, 'the new key shown');
    const listed = await rest(stack, 'GET', '/keys');
    const made = (listed.json as Array<{ id: string; name: string; scopes: string[]; quota: unknown }>).find((k) => k.name === keyName);
    assert.ok(made, listed.text);
    assert.deepEqual(made.scopes, ['sandboxes:create', 'sandboxes:use', 'sandboxes:read', 'metrics:read']);
    assert.deepEqual(made.quota, { maxSandboxes: 2 });
    await waitText(`tr[data-key-id="${made.id}"]`, /metrics:read.*2 sandboxes/, 'the key listed with its scopes and quota');
    assert.equal((await rest(stack, 'GET', '/v2/sandboxes', { apiKey: secret })).status, 200);
    assert.equal((await rest(stack, 'GET', '/metrics', { apiKey: secret })).status, 200);
    assert.equal((await rest(stack, 'GET', '/keys', { apiKey: secret })).status, 403, 'no key management without admin');
    assert.equal((await page.content()).split(secret).length - 1, 1, 'the secret appears once, in the notice');
    await shot('04-keys-created');

    await page.click(`tr[data-key-id="${made.id}"] [data-col=action] button`);
    await waitText(`tr[data-key-id="${made.id}"] [data-col=action]`, /revoked/, 'the key shown revoked');
    assert.equal((await rest(stack, 'GET', '/v2/sandboxes', { apiKey: secret })).status, 401);
    await shot('05-keys-revoked');
    assert.deepEqual(problems, []);
  });
});
