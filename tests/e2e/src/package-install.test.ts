import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { CommandExitError, type CommandResult, type Sandbox } from 'e2b';
import type { CodeSandbox} from './code-helpers.js';
import { assertNoError, createCodeSandbox, runCode } from './code-helpers.js';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, run, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

// Package installs and TLS inside sandboxes, through the official SDKs, with internet on. On this
// network TLS to the npm registry goes through an intercepting proxy whose CA only the host trusts
// (/usr/local/share/ca-certificates); PyPI is not reachable, so Python packages are built inside.

let stack: Stack;
let sbx: CodeSandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createCodeSandbox(stack, { metadata: { suite: 'package-install', run: RUN_ID }, timeoutMs: 900_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] package-install sandbox: ${sbx.sandboxId}`);
  if (sbx && stack) {
    await withTimeout(sbx.kill(), CALL_MS, 'kill').catch(() => undefined);
    // The daemon unmounts a killed sandbox's disk in the background; stop() removes the state
    // directory, which fails (EBUSY) on a disk still mounted.
    await waitFor(async () => !readFileSync('/proc/mounts', 'utf8').includes(`${stack.home}/sandboxes/`), 60_000, 'sandbox disks unmounted');
  }
  await stack?.stop();
});

const REGISTRY = 'https://registry.npmjs.org/';
const INSTALL_MS = 180_000;

/** Runs a command and returns its result whatever its exit code. */
async function attempt(sandbox: Sandbox, cmd: string, opts: { user?: 'root' | 'user' } = {}, ms = CALL_MS): Promise<CommandResult> {
  try {
    return await run(sandbox, cmd, { ...opts, timeoutMs: ms }, ms + 5_000);
  } catch (err) {
    if (err instanceof CommandExitError) return err;
    throw err;
  }
}

/** Fingerprints of every certificate in PEM text. */
const fingerprints = (pem: string): Set<string> =>
  new Set((pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b).fingerprint256));

/** The host's local CAs (update-ca-certificates' /usr/local/share/ca-certificates), by fingerprint. */
function hostLocalCas(dir = '/usr/local/share/ca-certificates'): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.name.endsWith('.crt')) continue;
    const path = join(entry.parentPath, entry.name);
    for (const fp of fingerprints(readFileSync(path, 'utf8'))) out.set(fp, path);
  }
  return out;
}

/** Writes a minimal setuptools project `name` (VALUE = '<name>-ok') under `dir`. */
async function writeProject(sandbox: Sandbox, dir: string, name: string): Promise<void> {
  const pyproject = `[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "${name}"\nversion = "1.0"\n`;
  await withTimeout(sandbox.files.write(`${dir}/pyproject.toml`, pyproject), CALL_MS, 'write pyproject.toml');
  await withTimeout(sandbox.files.write(`${dir}/${name}/__init__.py`, `VALUE = '${name}-ok'\n`), CALL_MS, 'write __init__.py');
}

describe('TLS inside a sandbox trusts what the host trusts', () => {
  test('the system bundle holds every CA of the host\'s /usr/local/share/ca-certificates', 60_000, async () => {
    const host = hostLocalCas();
    assert.ok(host.size > 0, 'this host has no local CAs; the test needs the intercepting proxy\'s CA there');
    const inside = fingerprints(await withTimeout(sbx.files.read('/etc/ssl/certs/ca-certificates.crt'), CALL_MS, 'read bundle'));
    for (const [fp, path] of host) assert.ok(inside.has(fp), `${path} is not trusted inside`);
  });

  test('curl, node fetch, python urllib and git verify the registry\'s certificate, as user and root', 180_000, async () => {
    for (const user of ['user', 'root'] as const) {
      const curl = await attempt(sbx, `curl -sS -o /dev/null -w '%{http_code}' --max-time 30 ${REGISTRY}`, { user });
      assert.equal(curl.exitCode, 0, `curl as ${user}: ${curl.stderr}`);
      assert.equal(curl.stdout, '200');
      const node = await attempt(sbx, `node -e "fetch('${REGISTRY}').then((r) => console.log(r.status), (e) => { console.error(e.cause ?? e); process.exit(1); })"`, { user });
      assert.equal(node.exitCode, 0, `node fetch as ${user}: ${node.stderr}`);
      assert.equal(node.stdout.trim(), '200');
      const python = await attempt(sbx, `python3 -c "import urllib.request; print(urllib.request.urlopen('${REGISTRY}', timeout=30).status)"`, { user });
      assert.equal(python.exitCode, 0, `python urllib as ${user}: ${python.stderr}`);
      assert.equal(python.stdout.trim(), '200');
    }
    // The registry is no git server: git gets past TLS and then fails on what HTTP answered.
    const git = await attempt(sbx, `git ls-remote ${REGISTRY}is-number`);
    assert.notEqual(git.exitCode, 0);
    assert.doesNotMatch(git.stderr, /certificate|SSL|TLS/i);
    assert.match(git.stderr, /not found|not valid|repository/i);
  });

  test('the code interpreter\'s Python and JavaScript kernels fetch over TLS', 120_000, async () => {
    const py = assertNoError(await runCode(sbx, `import urllib.request\nurllib.request.urlopen('${REGISTRY}', timeout=30).status`));
    assert.equal(py.text, '200');
    const js = assertNoError(await runCode(sbx, `(await fetch('${REGISTRY}')).status`, { language: 'javascript' }));
    assert.equal(js.text, '200');
  });

  test('the host CAs are a local CA of the sandbox, so its own update-ca-certificates keeps them', 60_000, async () => {
    // update-ca-certificates collects every *.crt under /usr/local/share/ca-certificates, links
    // followed. Running it takes minutes under gVisor (a shell loop of ~150 certificates, each
    // forking), so the test reads what it would read.
    const local = await withTimeout(sbx.files.read('/usr/local/share/ca-certificates/sandboxd-host.crt'), CALL_MS, 'read local CA');
    const inside = fingerprints(local);
    for (const [fp, path] of hostLocalCas()) assert.ok(inside.has(fp), `${path} is not among the sandbox's local CAs`);
    const listed = await attempt(sbx, 'find -L /usr/local/share/ca-certificates -type f -name "*.crt"');
    assert.equal(listed.stdout.trim(), '/usr/local/share/ca-certificates/sandboxd-host.crt');
  });
});

describe('npm', () => {
  test('npm install is-number in a fresh directory of the user, then require() finds it', INSTALL_MS, async () => {
    const install = await attempt(sbx, 'mkdir -p /home/user/npm-probe && cd /home/user/npm-probe && npm install --no-audit is-number', {}, INSTALL_MS - 30_000);
    assert.equal(install.exitCode, 0, `npm install: ${install.stdout}\n${install.stderr}`);
    const required = await attempt(sbx, `cd /home/user/npm-probe && node -e "console.log(require('is-number')(5), require('is-number/package.json').name)"`);
    assert.equal(required.exitCode, 0, required.stderr);
    assert.equal(required.stdout.trim(), 'true is-number');
  });
});

describe('pip', () => {
  test('pip works for user and root, with no PEP 668 refusal', 60_000, async () => {
    for (const user of ['user', 'root'] as const) {
      const version = await attempt(sbx, 'pip --version && pip3 --version && python3 -m pip --version', { user });
      assert.equal(version.exitCode, 0, version.stderr);
      assert.match(version.stdout, /^pip \d+\.\d+/m);
    }
  });

  test('`python` is python3, as in E2B\'s images', 60_000, async () => {
    const same = await attempt(sbx, 'python -c "import sys; print(sys.version_info[0], sys.executable)"', { user: 'user' });
    assert.equal(same.exitCode, 0, same.stderr);
    assert.match(same.stdout, /^3 \/usr\/bin\/python/);
  });

  test('as user: a wheel and a directory built in the sandbox install, and the running kernel imports them without restart', INSTALL_MS, async () => {
    // The kernel is up and has already missed the module once.
    const missing = await runCode(sbx, 'import sandboxd_probe_wheel');
    assert.equal(missing.error?.name, 'ModuleNotFoundError');
    await writeProject(sbx, '/tmp/probe-src/wheel', 'sandboxd_probe_wheel');
    await writeProject(sbx, '/tmp/probe-src/dir', 'sandboxd_probe_dir');
    const wheel = await attempt(sbx, 'pip wheel --no-build-isolation --no-deps -w /tmp/probe-wheels /tmp/probe-src/wheel', {}, 120_000);
    assert.equal(wheel.exitCode, 0, `pip wheel: ${wheel.stdout}\n${wheel.stderr}`);
    const fromWheel = await attempt(sbx, 'pip install /tmp/probe-wheels/sandboxd_probe_wheel-1.0-py3-none-any.whl', {}, 120_000);
    assert.equal(fromWheel.exitCode, 0, `pip install wheel: ${fromWheel.stdout}\n${fromWheel.stderr}`);
    const fromDir = await attempt(sbx, 'pip install --no-build-isolation /tmp/probe-src/dir', {}, 120_000);
    assert.equal(fromDir.exitCode, 0, `pip install dir: ${fromDir.stdout}\n${fromDir.stderr}`);
    // As `user` pip goes to the user site, not Debian's directories.
    const where = await attempt(sbx, 'cd / && python3 -c "import sandboxd_probe_wheel as w, sandboxd_probe_dir as d; print(w.__file__); print(d.__file__)"');
    assert.equal(where.exitCode, 0, where.stderr);
    for (const line of where.stdout.trim().split('\n')) assert.match(line, /^\/home\/user\/\.local\/lib\/python3\.\d+\/site-packages\//);
    const imported = assertNoError(await runCode(sbx, 'import sandboxd_probe_wheel, sandboxd_probe_dir\nsandboxd_probe_wheel.VALUE + " " + sandboxd_probe_dir.VALUE'));
    assert.equal(imported.text, 'sandboxd_probe_wheel-ok sandboxd_probe_dir-ok');
  });

  test('as root: pip installs into /usr/local, and user processes and the kernel import it', INSTALL_MS, async () => {
    await writeProject(sbx, '/tmp/probe-src/root', 'sandboxd_probe_root');
    const install = await attempt(sbx, 'pip install --no-build-isolation /tmp/probe-src/root', { user: 'root' }, 120_000);
    assert.equal(install.exitCode, 0, `pip install as root: ${install.stdout}\n${install.stderr}`);
    const where = await attempt(sbx, 'cd / && python3 -c "import sandboxd_probe_root as r; print(r.__file__)"');
    assert.equal(where.exitCode, 0, where.stderr);
    assert.match(where.stdout.trim(), /^\/usr\/local\/lib\/python3\.\d+\/dist-packages\/sandboxd_probe_root\//);
    const imported = assertNoError(await runCode(sbx, 'import sandboxd_probe_root\nsandboxd_probe_root.VALUE'));
    assert.equal(imported.text, 'sandboxd_probe_root-ok');
  });
});

describe('without internet access', () => {
  test('curl, node fetch, python urllib and npm install fail cleanly (no hang, no certificate error)', 240_000, async () => {
    const offline = await createSandbox(stack, { metadata: { suite: 'package-install', run: RUN_ID }, allowInternetAccess: false });
    try {
      const timed = async (label: string, cmd: string, ms = 60_000): Promise<CommandResult> => {
        const started = Date.now();
        const result = await attempt(offline, cmd, {}, ms);
        console.error(`[e2e] offline ${label}: exit ${result.exitCode} after ${Date.now() - started} ms`);
        assert.notEqual(result.exitCode, 0, `${label} succeeded without internet`);
        assert.doesNotMatch(result.stderr, /certificate/i);
        return result;
      };
      const curl = await timed('curl', `curl -sS -o /dev/null --max-time 20 ${REGISTRY}`);
      assert.match(curl.stderr, /Could not resolve host|Failed to connect|timed out/i);
      const node = await timed('node fetch', `node -e "fetch('${REGISTRY}').then(() => process.exit(0), (e) => { console.error(String(e.cause?.code ?? e.cause ?? e)); process.exit(3); })"`);
      assert.equal(node.exitCode, 3, node.stderr);
      assert.match(node.stderr, /EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|timeout/i);
      const python = await timed('python urllib', `python3 -c "import urllib.request; urllib.request.urlopen('${REGISTRY}', timeout=20)"`);
      assert.match(python.stderr, /URLError|Temporary failure in name resolution|timed out/);
      // npm's own retries (two, 10 s back-off) make the default take ~90 s to give up.
      const npm = await timed('npm install', 'mkdir -p /home/user/npm-offline && cd /home/user/npm-offline && npm install --no-audit --fetch-retries=0 is-number', 120_000);
      assert.match(npm.stderr + npm.stdout, /EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|network/i);
    } finally {
      await withTimeout(offline.kill(), CALL_MS, 'kill').catch(() => undefined);
    }
  });
});
