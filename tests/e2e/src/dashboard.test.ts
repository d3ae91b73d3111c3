import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { launch, type Browser, type BrowserContext, type HTTPRequest, type Page } from 'puppeteer-core';
import { CALL_MS, CREATE_MS, RUN_ID, createSandbox, e2eTest, rawFetch, rest, run, sha256, toArrayBuffer, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

/** Debian's `chromium` (scripts/setup.sh installs it). */
const CHROMIUM = process.env['SANDBOXD_CHROMIUM'] ?? '/usr/bin/chromium';
/** Screenshots of each step, kept as test artifacts (gitignored). */
const ARTIFACTS = resolve(dirname(fileURLToPath(import.meta.url)), '../artifacts/dashboard');
/** Bound of one wait for the page (its polls run every 2-5 s). */
const UI_MS = 30_000;

let stack: Stack;
let browser: Browser | undefined;
let context: BrowserContext;
let page: Page;
let downloads: string;
const test = e2eTest(() => stack);

/** Every request the browser made, with its headers (to check where the key went). */
const requests: Array<{ url: string; headers: Record<string, string> }> = [];
/** Page errors and Content-Security-Policy violations: both fail the last test. */
const problems: string[] = [];
const sandboxes: Sandbox[] = [];
let first: Sandbox;
let second: Sandbox;
const fileName = `dash-${RUN_ID}.bin`;
const fileBytes = randomBytes(300 * 1024);
const marker = `dash-marker-${randomBytes(4).toString('hex')}`;

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The text of the first element matching `selector`, '' when there is none. */
const textOf = (selector: string): Promise<string> => page.$eval(selector, (el) => el.textContent ?? '').catch(() => '');

/** Waits until `selector`'s text matches; the failure names what it showed last. */
async function waitText(selector: string, pattern: RegExp, label: string): Promise<void> {
  let last = '';
  try {
    await waitFor(async () => pattern.test((last = await textOf(selector))), UI_MS, label);
  } catch (err) {
    throw new Error(`${(err as Error).message}: ${selector} should match ${pattern}, it shows ${JSON.stringify(last.slice(-400))}`, { cause: err });
  }
}

/** Evaluates an expression in the page (the tests are not compiled with the DOM's types). */
const inPage = <T>(expression: string): Promise<T> => page.evaluate(expression) as Promise<T>;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does)`);
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  downloads = mkdtempSync(join(tmpdir(), 'sandboxd-dashboard-downloads-'));
  stack = await startStack();
  // Root on a CI machine: Chromium's own sandbox needs an unprivileged user, so it is off.
  browser = await launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'], timeout: CALL_MS });
  context = await browser.createBrowserContext({ downloadBehavior: { policy: 'allow', downloadPath: downloads } });
  page = await context.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('request', (r: HTTPRequest) => requests.push({ url: r.url(), headers: r.headers() }));
  page.on('pageerror', (err) => problems.push(`page error: ${String(err)}`));
  page.on('console', (msg) => {
    if (/Content Security Policy|Refused to/i.test(msg.text())) problems.push(`CSP: ${msg.text()}`);
  });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await Promise.all(sandboxes.map((s) => s.kill().catch(() => undefined)));
  await stack?.stop();
  rmSync(downloads, { recursive: true, force: true });
});

describe('web dashboard in headless Chromium', () => {
  test('the page and its assets come from the daemon with their content types and a strict CSP', CALL_MS, async () => {
    const seen = new Map<string, string>();
    const onResponse = (r: { url(): string; headers(): Record<string, string> }) => seen.set(new URL(r.url()).pathname, r.headers()['content-type'] ?? '');
    page.on('response', onResponse);
    const res = await page.goto(`${stack.apiUrl}/dashboard`, { waitUntil: 'networkidle0', timeout: CALL_MS });
    page.off('response', onResponse);
    assert.equal(res?.status(), 200);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(seen.get('/dashboard'), 'text/html; charset=utf-8');
    assert.equal(seen.get('/dashboard/assets/app.js'), 'text/javascript; charset=utf-8');
    assert.equal(seen.get('/dashboard/assets/app.css'), 'text/css; charset=utf-8');
    // Nothing is loaded from anywhere else.
    for (const { url } of requests) assert.equal(new URL(url).origin, stack.apiUrl, url);
    await page.waitForSelector('#apiKey', { timeout: UI_MS });
    await shot('01-sign-in');
  });

  test('a wrong key is refused and not kept', UI_MS, async () => {
    await page.type('#apiKey', `e2b_${'0'.repeat(40)}`);
    await page.keyboard.press('Enter');
    await waitText('[data-testid=signin-error]', /refused this API key/, 'wrong key refused');
    assert.equal(await inPage<number>('sessionStorage.length'), 0);
    await shot('02-wrong-key');
  });

  test('signed in, the list shows SDK sandboxes with live state, one created while it is open', CREATE_MS * 2, async () => {
    first = await createSandbox(stack, { metadata: { run: RUN_ID, which: 'first' } });
    sandboxes.push(first);
    await page.click('#apiKey', { count: 3 });
    await page.type('#apiKey', stack.apiKey);
    await page.keyboard.press('Enter');
    await waitText(`tr[data-sandbox-id="${first.sandboxId}"] [data-col=state]`, /^running$/, 'first sandbox listed');
    // Created after the page opened: the list shows it without a reload.
    second = await createSandbox(stack, { metadata: { run: RUN_ID, which: 'second' } });
    sandboxes.push(second);
    await waitText(`tr[data-sandbox-id="${second.sandboxId}"] [data-col=state]`, /^running$/, 'second sandbox appears live');
    for (const s of [first, second]) {
      await waitText(`tr[data-sandbox-id="${s.sandboxId}"] [data-col=cpu]`, /\d+\.\d%/, `CPU of ${s.sandboxId}`);
      await waitText(`tr[data-sandbox-id="${s.sandboxId}"] [data-col=memory]`, /\d (B|KiB|MiB|GiB) of/, `memory of ${s.sandboxId}`);
    }
    assert.match(await textOf(`tr[data-sandbox-id="${first.sandboxId}"]`), /which=first/);
    assert.equal(await inPage<number>('sessionStorage.length'), 1);
    assert.equal(await inPage<number>('localStorage.length + document.cookie.length'), 0);
    await shot('03-sandbox-list');
  });

  test('a sandbox page: chart points, a command in the live logs, a sleep among the processes', CALL_MS * 3, async () => {
    await run(first, `echo ${marker}-before`);
    const sleeper = await withTimeout(first.commands.run('sleep 600', { background: true }), CALL_MS, 'background sleep');
    await page.click(`tr[data-sandbox-id="${first.sandboxId}"] a`);
    await page.waitForSelector('svg[data-chart=cpu]', { timeout: UI_MS });
    // The metrics poll runs every 5 s: a second sample arrives within two polls.
    await waitFor(async () => Number(await page.$eval('svg[data-chart=cpu]', (el) => el.getAttribute('data-points'))) >= 2, UI_MS, 'CPU chart has two points');
    for (const chart of ['cpu', 'memory']) {
      const circles = await page.$$eval(`svg[data-chart=${chart}] circle.point`, (els) => els.length);
      assert.ok(circles >= 2, `${chart} chart draws ${circles} points`);
      const d = await page.$eval(`svg[data-chart=${chart}] path.line`, (el) => el.getAttribute('d') ?? '');
      assert.match(d, /^M[\d.]+ [\d.]+ L/, `${chart} line`);
    }
    await waitText('[data-testid=logs]', new RegExp(`process started .*${marker}-before`), 'logs show the command');
    await run(first, `echo ${marker}-live`);
    await waitText('[data-testid=logs]', new RegExp(`${marker}-live`), 'logs follow a command run while the page is open');
    await waitText('[data-testid=processes]', /sleep 600/, 'processes list the background sleep');
    assert.match(await textOf(`[data-testid=processes] tr[data-pid="${sleeper.pid}"]`), /sleep 600/);
    await shot('04-sandbox-page');
  });

  test('the file browser lists a file written through the SDK and downloads it byte for byte', CALL_MS * 2, async () => {
    await withTimeout(first.files.write(`/home/user/${fileName}`, toArrayBuffer(fileBytes)), CALL_MS, 'files.write');
    await page.click('[data-testid=files-path]', { count: 3 });
    await page.type('[data-testid=files-path]', '/home/user');
    await page.keyboard.press('Enter');
    const row = `[data-testid=files] tr[data-file="${fileName}"]`;
    await page.waitForSelector(row, { timeout: UI_MS });
    assert.match(await textOf(row), /300 KiB/);
    await page.click(`${row} [data-testid=download]`);
    const saved = join(downloads, fileName);
    await waitFor(async () => existsSync(saved) && !readdirSync(downloads).some((n) => n.endsWith('.crdownload')), UI_MS, `download of ${fileName}`);
    const got = readFileSync(saved);
    assert.equal(got.length, fileBytes.length);
    assert.equal(sha256(got), sha256(fileBytes));
    await shot('05-files');
  });

  test('pause and resume follow the state: the buttons pause and resume, or the page says the daemon cannot pause', CALL_MS * 4, async () => {
    await page.waitForSelector('[data-testid=pause]', { timeout: UI_MS });
    assert.equal(await page.$('[data-testid=resume]'), null, 'no Resume on a running sandbox');
    await page.click('[data-testid=pause]');
    const outcome = await waitFor(
      async () => ((await page.$('[data-testid=resume]')) !== null ? 'paused' : /not supported by this daemon yet/.test(await textOf('.actions')) ? 'unsupported' : undefined),
      CALL_MS,
      'the daemon answers the pause',
    );
    await shot('06-pause');
    if (outcome === 'unsupported') {
      assert.match(await textOf('.actions'), /POST \/sandboxes\/\S+\/pause: 501/);
      return;
    }
    const listed = (await rest(stack, 'GET', '/v2/sandboxes?state=paused')).json as Array<{ sandboxID: string }>;
    assert.ok(listed.some((s) => s.sandboxID === first.sandboxId), 'the REST list shows it paused');
    await page.click('[data-testid=resume]');
    await page.waitForSelector('[data-testid=pause]', { timeout: CALL_MS });
    await waitText('h1 .badge', /^running$/, 'running again after resume');
  });

  test('kill removes the sandbox from the list; the other one stays', CALL_MS * 2, async () => {
    await page.click('[data-testid=kill]');
    await page.click('[data-testid=kill-confirm]');
    await waitFor(async () => (await inPage<string>('location.hash')) === '#/', UI_MS, 'back on the list after kill');
    await waitText(`tr[data-sandbox-id="${second.sandboxId}"] [data-col=state]`, /^running$/, 'second sandbox still listed');
    await waitFor(async () => (await page.$(`tr[data-sandbox-id="${first.sandboxId}"]`)) === null, UI_MS, 'killed sandbox leaves the list');
    assert.equal((await rest(stack, 'GET', `/sandboxes/${first.sandboxId}`)).status, 404);
    await shot('07-after-kill');
  });

  test('templates and usage render what the daemon answers, or say they are not available', CALL_MS * 2, async () => {
    for (const [page_, path, shown] of [
      ['templates', '/templates', 'templates'],
      ['usage', '/usage', 'usage'],
    ] as const) {
      const direct = await rest(stack, 'GET', path);
      await page.click(`header nav a[href="#/${page_}"]`);
      if (direct.status === 200) await page.waitForSelector(`[data-testid=${shown}]`, { timeout: UI_MS });
      else await waitText('[data-testid=not-available]', new RegExp(`not available on this daemon[\\s\\S]*${direct.status}`), `${page_} not available`);
      await shot(`08-${page_}`);
    }
  });

  test("a sandbox's HTML file opened from a signed /files URL runs no script on the daemon's origin (CSP sandbox) and no file of it can be a service worker", CALL_MS * 2, async () => {
    // A script there could call the API with the dashboard's origin or register a worker that
    // controls /dashboard and reads the key its requests carry.
    const sw = '/home/user/sw.js';
    await withTimeout(second.files.write(sw, "self.addEventListener('fetch', () => {});\n"), CALL_MS, 'write sw.js');
    const swUrl = new URL(await second.downloadUrl(sw));
    const script = `document.title = 'ran'; navigator.serviceWorker.register(${JSON.stringify(swUrl.pathname + swUrl.search)}, { scope: '/' });`;
    await withTimeout(second.files.write('/home/user/page.html', `<!doctype html><title>static</title><script>${script}</script>`), CALL_MS, 'write page.html');
    const pageUrl = new URL(await second.downloadUrl('/home/user/page.html'));
    assert.equal(`${pageUrl.protocol}//${pageUrl.host}`, stack.apiUrl, 'signed URLs are on the daemon origin');
    const direct = await rawFetch(pageUrl.href);
    assert.equal(direct.status, 200);
    assert.equal(direct.headers.get('content-security-policy'), 'sandbox');
    const other = await context.newPage();
    try {
      const res = await other.goto(pageUrl.href, { timeout: CALL_MS, waitUntil: 'load' });
      assert.equal(res?.headers()['content-security-policy'], 'sandbox');
      assert.equal(await other.title(), 'static', 'the inline script did not run');
      assert.equal(await other.evaluate('window.origin'), 'null', 'a sandboxed document has an opaque origin');
      await shot('09-signed-file-sandboxed');
    } finally {
      await other.close();
    }
    // The daemon also refuses the file to a browser fetching it as a worker script.
    assert.equal((await rawFetch(swUrl.href, { headers: { 'service-worker': 'script' } })).status, 403);
    assert.equal(await inPage<number>('navigator.serviceWorker.getRegistrations().then((r) => r.length)'), 0);
  });

  test('sign-out forgets the key; the key never appeared in a URL and went only to the REST API', CALL_MS, async () => {
    await page.click('[data-testid=signout]');
    await page.waitForSelector('#apiKey', { timeout: UI_MS });
    assert.equal(await inPage<number>('sessionStorage.length'), 0);
    await shot('10-signed-out');

    assert.ok(requests.length > 20, `only ${requests.length} requests recorded`);
    const withKey = requests.filter((r) => r.headers['x-api-key'] === stack.apiKey);
    assert.ok(withKey.length > 10, 'REST calls carry the key in X-API-KEY');
    for (const r of requests) {
      assert.ok(!decodeURIComponent(r.url).includes(stack.apiKey), `the key is in a URL: ${r.url}`);
      assert.ok(!decodeURIComponent(r.url).includes(stack.apiKey.slice(4)), `part of the key is in a URL: ${r.url}`);
    }
    // Sandbox traffic (processes, files) goes into the sandbox: never with the API key.
    const sandboxTraffic = requests.filter((r) => r.headers['e2b-sandbox-id'] !== undefined);
    assert.ok(sandboxTraffic.some((r) => r.url.endsWith('/process.Process/List')), 'processes came through the proxy');
    assert.ok(sandboxTraffic.some((r) => new URL(r.url).pathname === '/files'), 'the download came through the proxy');
    for (const r of sandboxTraffic) {
      assert.equal(r.headers['x-api-key'], undefined, `sandbox traffic with the API key: ${r.url}`);
      assert.equal(r.headers['e2b-sandbox-port'], '49983');
      assert.ok(r.headers['x-access-token'], `sandbox traffic without the envd access token: ${r.url}`);
    }
    assert.deepEqual(problems, []);
  });
});
