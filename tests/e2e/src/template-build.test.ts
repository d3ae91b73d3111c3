import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Sandbox, Template, type LogEntry } from 'e2b';
import { CALL_MS, RUN_ID, e2eTest, run, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';
import { pushTestImage, startRegistry, type LocalRegistry } from './template-build-registry.js';

// Templates users build, through the official SDK's Template class against a running daemon:
// steps in gVisor build sandboxes, cached layers, failures, OCI images from a local registry.

const BUILD_MS = 600_000;
let stack: Stack;
let builtDir: string;
let context: string;
const test = e2eTest(() => stack);
const name = `e2e-app-${RUN_ID}`;

before(async () => {
  builtDir = mkdtempSync(join(tmpdir(), 'sandboxd-built-'));
  stack = await startStack({ env: { SANDBOXD_BUILT_TEMPLATES_DIR: builtDir } });
  context = mkdtempSync(join(tmpdir(), 'sandboxd-context-'));
  mkdirSync(join(context, 'app', 'sub'), { recursive: true });
  writeFileSync(join(context, 'app', 'hello.txt'), `hello ${RUN_ID}\n`);
  writeFileSync(join(context, 'app', 'sub', 'data.json'), '{"ok":true}\n');
});
after(async () => {
  if (stack) await waitFor(async () => !readFileSync('/proc/mounts', 'utf8').includes(`${stack.home}/sandboxes/`), 60_000, 'sandbox disks unmounted');
  await stack?.stop();
  // The daemon binds the layers its sandboxes used read-only (as it does templates): release them.
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n').reverse()) {
    const point = line.split(' ')[1];
    if (point?.startsWith(`${builtDir}/`)) execFileSync('umount', ['-l', point]);
  }
  rmSync(context, { recursive: true, force: true });
  rmSync(builtDir, { recursive: true, force: true });
});

const appTemplate = () =>
  Template({ fileContextPath: context })
    .fromTemplate('base')
    .setEnvs({ GREETING: `hi-${RUN_ID}` })
    .runCmd(`echo "$GREETING from $(whoami)" > /home/user/greeting`)
    .setUser('root')
    .runCmd(`echo ${RUN_ID} > /opt/root-step`)
    .setWorkdir('/srv/app')
    .copy('app', '/srv/app/', { user: 'user' })
    .setUser('app');

async function build(template: ReturnType<typeof appTemplate>, templateName: string, opts: { cpuCount?: number; memoryMB?: number } = {}) {
  const logs: LogEntry[] = [];
  const info = await withTimeout(Template.build(template, templateName, { ...stack.sdk, ...opts, onBuildLogs: (entry) => logs.push(entry) }), BUILD_MS, 'Template.build');
  return { info, logs: logs.map((l) => l.message) };
}

describe('template build', { concurrency: false }, () => {
  test('builds from the default template with ENV, RUN, USER, WORKDIR and copy() of a local directory', BUILD_MS, async () => {
    assert.equal(await Template.exists(name, stack.sdk), false);
    const { info, logs } = await build(appTemplate(), name, { cpuCount: 1, memoryMB: 768 });
    assert.equal(info.name, name);
    assert.ok(info.templateId && info.buildId, JSON.stringify(info));
    assert.ok(!logs.some((l) => l.startsWith('CACHED')), `first build ran every step:\n${logs.join('\n')}`);
    assert.ok(logs.some((l) => l === `Uploaded 'app'`), logs.join('\n'));
    assert.equal(await Template.exists(name, stack.sdk), true);
    assert.equal(await Template.exists('base', stack.sdk), true);

    await withSandbox(() => Sandbox.create(name, { ...stack.sdk, timeoutMs: 120_000 }), async (sbx) => {
      const facts = await run(sbx, 'whoami; pwd; echo "$GREETING"; cat /opt/root-step /srv/app/hello.txt /srv/app/sub/data.json; stat -c %U /srv/app/hello.txt');
      assert.deepEqual(facts.stdout.trim().split('\n'), ['app', '/srv/app', `hi-${RUN_ID}`, RUN_ID, `hello ${RUN_ID}`, '{"ok":true}', 'user']);
      // /home/user is user's alone (0700): the step that ran as user wrote there.
      assert.equal((await run(sbx, 'cat /home/user/greeting', { user: 'root' })).stdout.trim(), `hi-${RUN_ID} from user`);
      const sandboxInfo = await sbx.getInfo();
      assert.equal(sandboxInfo.cpuCount, 1);
      assert.equal(sandboxInfo.memoryMB, 768);
      const mem = await run(sbx, "awk '/MemTotal/ {print $2}' /proc/meminfo");
      assert.ok(Number(mem.stdout.trim()) <= 768 * 1024, `MemTotal ${mem.stdout.trim()} kB within the template's 768 MiB`);
    });
  });

  test('an unchanged rebuild reuses every step from the cache', BUILD_MS, async () => {
    const { logs } = await build(appTemplate(), name, { cpuCount: 1, memoryMB: 768 });
    const steps = logs.filter((l) => /^(CACHED )?\[\d+\/\d+\]/.test(l));
    assert.equal(steps.length, 7, logs.join('\n'));
    assert.ok(steps.every((l) => l.startsWith('CACHED ')), `every step cached:\n${steps.join('\n')}`);
    assert.ok(logs.some((l) => l.includes("Skipping upload of 'app', already cached")), logs.join('\n'));
    assert.ok(logs.some((l) => /\(7 of 7 steps cached\)/.test(l)), logs.join('\n'));
  });

  test('a failing step fails the build with its output and leaves no template', BUILD_MS, async () => {
    const failing = `e2e-fail-${RUN_ID}`;
    const template = Template().fromTemplate('base').runCmd('echo fine').runCmd(`echo about-to-fail-${RUN_ID}; exit 3`);
    const error = await withTimeout(Template.build(template, failing, stack.sdk), BUILD_MS, 'failing build').then(
      () => assert.fail('the build should fail'),
      (err: unknown) => err as Error,
    );
    assert.equal(error.name, 'BuildError');
    assert.match(error.message, /exit status 3/);
    assert.match(error.message, new RegExp(`about-to-fail-${RUN_ID}`));
    assert.equal(await Template.exists(failing, stack.sdk), false);
    await assert.rejects(Sandbox.create(failing, { ...stack.sdk, timeoutMs: 60_000 }), /not found/);
  });

  describe('from an OCI image', { concurrency: false }, () => {
    let registry: LocalRegistry;
    const image = `e2e/debian-minbase:${RUN_ID}`;
    before(async () => {
      registry = await startRegistry();
      await pushTestImage(registry, image, { env: `IMAGE_ENV=from-image-${RUN_ID}`, workdir: '/srv/image' });
    });
    after(async () => registry?.stop());

    test('fromImage with registry credentials honours the image env, workdir and entrypoint and adds user, sudoers and init', BUILD_MS, async () => {
      const imageName = `e2e-image-${RUN_ID}`;
      const template = Template()
        .fromImage(`${registry.host}/${image}`, { username: registry.username, password: registry.password })
        .runCmd('echo "$IMAGE_ENV" > /tmp/build-env && cat /tmp/build-env');
      const { logs } = await build(template, imageName);
      assert.ok(logs.some((l) => l === `from-image-${RUN_ID}`), logs.join('\n'));
      await withSandbox(() => Sandbox.create(imageName, { ...stack.sdk, timeoutMs: 120_000 }), async (sbx) => {
        // This image has no python3: sudo is the agent's shim on its own Node.js. The step's /tmp is kept.
        const facts = await run(sbx, 'whoami; pwd; echo "$IMAGE_ENV"; readlink /usr/bin/sudo; test ! -e /usr/bin/python3 && echo no-python; cat /tmp/build-env');
        assert.deepEqual(facts.stdout.trim().split('\n'), ['user', '/srv/image', `from-image-${RUN_ID}`, '/opt/sandboxd/packages/agent/dist/sudo-shim.mjs', 'no-python', `from-image-${RUN_ID}`]);
        const sudo = await run(sbx, `sudo id -u; echo piped-${RUN_ID} | sudo tee /root/by-sudo >/dev/null; sudo cat /root/by-sudo; sudo -u user id -un; SUDO_KEEP=kept sudo -E sh -c 'echo $SUDO_KEEP $USER'; sudo sh -c 'exit 3' || echo "exit $?"`);
        assert.deepEqual(sudo.stdout.trim().split('\n'), ['0', `piped-${RUN_ID}`, 'user', 'kept root', 'exit 3']);
        const asRoot = await run(sbx, 'id -u; cat /etc/sudoers.d/user; stat -c %U /srv/image', { user: 'root' });
        assert.deepEqual(asRoot.stdout.trim().split('\n'), ['0', 'user ALL=(ALL:ALL) NOPASSWD: ALL', 'user']);
        const started = await run(sbx, 'for i in $(seq 50); do [ -e /tmp/entry-ran ] && break; sleep 0.2; done; cat /tmp/entry-ran');
        assert.equal(started.stdout.trim(), 'started');
      });
      assert.equal(await withTimeout(Template.exists(imageName, stack.sdk), CALL_MS, 'exists'), true);
    });

    test('wrong registry credentials fail the build at its base step', BUILD_MS, async () => {
      const template = Template().fromImage(`${registry.host}/${image}`, { username: registry.username, password: 'wrong' });
      await assert.rejects(withTimeout(Template.build(template, `e2e-badcreds-${RUN_ID}`, stack.sdk), BUILD_MS, 'bad creds'), /cannot read image|unauthorized|authentication/i);
    });
  });

  test('delete removes the template', CALL_MS * 2, async () => {
    const res = await fetch(`${stack.apiUrl}/templates/aliases/${name}`, { headers: { 'X-API-KEY': stack.apiKey } });
    const { templateID } = (await res.json()) as { templateID: string };
    const del = await fetch(`${stack.apiUrl}/templates/${templateID}`, { method: 'DELETE', headers: { 'X-API-KEY': stack.apiKey } });
    assert.equal(del.status, 204);
    assert.equal(await Template.exists(name, stack.sdk), false);
    await assert.rejects(Sandbox.create(name, { ...stack.sdk, timeoutMs: 60_000 }), /not found/);
  });
});
