import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { SANDBOX_CA_BUNDLE, SANDBOX_HOST_CAS, TEMPLATE_OWN_CA_BUNDLE } from '../runtime/sandbox-trust-paths.js';
import { CUSTOMIZE_HOOKS } from './mmdebstrap-builder.js';

const HOOKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'template-hooks');

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** A fake template root with what ca-certificates leaves behind. */
async function fakeRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'sandboxd-hooks-'));
  dirs.push(root);
  await mkdir(join(root, 'etc/ssl/certs'), { recursive: true });
  await writeFile(join(root, 'etc/ssl/certs/ca-certificates.crt'), 'the template bundle\n');
  return root;
}

const runHook = (script: string, args: string[]) => spawnSync('sh', [join(HOOKS_DIR, script), ...args], { encoding: 'utf8' });

describe('template hooks', () => {
  it('every script the build names exists', () => {
    const scripts = CUSTOMIZE_HOOKS.flatMap((hook) => [...hook.matchAll(/'([^']+\.sh)'/g)].map((m) => m[1] ?? ''));
    assert.deepEqual(scripts.map((s) => s.split('/').pop()), ['lean-profile.sh', 'package-managers.sh', 'trust-store.sh']);
    for (const script of scripts) assert.ok(existsSync(script), script);
  });

  it('apt-cache.sh links cached .debs into a new root and what it downloaded back, nothing else', async () => {
    const root = await fakeRoot();
    const cache = join(root, '..', `${root.split('/').pop() ?? ''}-cache`);
    dirs.push(cache);
    await mkdir(cache);
    await writeFile(join(cache, 'a_1_amd64.deb'), 'a');
    const linkedIn = runHook('apt-cache.sh', ['in', cache, root]);
    assert.equal(linkedIn.status, 0, linkedIn.stderr);
    const archives = join(root, 'var/cache/apt/archives');
    assert.equal((await stat(join(archives, 'a_1_amd64.deb'))).ino, (await stat(join(cache, 'a_1_amd64.deb'))).ino, 'a hard link, not a copy');
    await writeFile(join(archives, 'b_2_amd64.deb'), 'b');
    await mkdir(join(archives, 'partial'));
    await writeFile(join(archives, 'lock'), '');
    const linkedOut = runHook('apt-cache.sh', ['out', cache, root]);
    assert.equal(linkedOut.status, 0, linkedOut.stderr);
    assert.deepEqual((await readdir(cache)).sort(), ['a_1_amd64.deb', 'b_2_amd64.deb']);
    assert.notEqual(runHook('apt-cache.sh', ['sideways', cache, root]).status, 0);
  });

  it('trust-store.sh keeps the template bundle aside and points the system bundle and a local CA at the sandbox run files', async () => {
    const root = await fakeRoot();
    const result = runHook('trust-store.sh', [root, TEMPLATE_OWN_CA_BUNDLE, SANDBOX_CA_BUNDLE, SANDBOX_HOST_CAS]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(await readFile(join(root, TEMPLATE_OWN_CA_BUNDLE), 'utf8'), 'the template bundle\n');
    assert.equal(await readlink(join(root, 'etc/ssl/certs/ca-certificates.crt')), SANDBOX_CA_BUNDLE);
    // update-ca-certificates collects *.crt under /usr/local/share/ca-certificates (following links).
    assert.equal(await readlink(join(root, 'usr/local/share/ca-certificates/sandboxd-host.crt')), SANDBOX_HOST_CAS);
  });

  it('trust-store.sh refuses a tree whose bundle is already redirected (or missing)', async () => {
    const root = await fakeRoot();
    assert.equal(runHook('trust-store.sh', [root, TEMPLATE_OWN_CA_BUNDLE, SANDBOX_CA_BUNDLE, SANDBOX_HOST_CAS]).status, 0);
    const again = runHook('trust-store.sh', [root, TEMPLATE_OWN_CA_BUNDLE, SANDBOX_CA_BUNDLE, SANDBOX_HOST_CAS]);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /not the bundle ca-certificates built/);
    assert.equal(await readFile(join(root, TEMPLATE_OWN_CA_BUNDLE), 'utf8'), 'the template bundle\n');
    const empty = await mkdtemp(join(tmpdir(), 'sandboxd-hooks-'));
    dirs.push(empty);
    assert.notEqual(runHook('trust-store.sh', [empty, TEMPLATE_OWN_CA_BUNDLE, SANDBOX_CA_BUNDLE, SANDBOX_HOST_CAS]).status, 0);
  });

  it('package-managers.sh writes a pip.conf pip reads as: install beside Debian, no version check', async () => {
    const root = await fakeRoot();
    await mkdir(join(root, 'etc'), { recursive: true });
    const result = runHook('package-managers.sh', [root]);
    assert.equal(result.status, 0, result.stderr);
    // The host's own pip parses the file (PIP_CONFIG_FILE is read like /etc/pip.conf); `config
    // debug` lists what each file sets, so the host's own pip configuration stays out of it.
    const conf = join(root, 'etc/pip.conf');
    const debug = execFileSync('python3', ['-m', 'pip', 'config', 'debug'], {
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: root, PIP_CONFIG_FILE: conf },
    });
    const ours = debug.split(`${conf}, exists: True\n`)[1]?.split(/\n(?! {4})/)[0] ?? '';
    assert.deepEqual(ours.trim().split('\n').map((l) => l.trim()).sort(), [
      'global.break-system-packages: true',
      'global.disable-pip-version-check: true',
      'install.root-user-action: ignore',
    ]);
    const npmrc = await readFile(join(root, 'etc/npmrc'), 'utf8');
    assert.match(npmrc, /^update-notifier=false$/m);
  });
});
