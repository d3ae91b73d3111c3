import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Sandbox, Template, waitForFile, waitForURL, type LogEntry } from 'e2b';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, run, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

// The Template SDK's start/ready commands, fromDockerfile, skipCache, concurrent builds of the
// same steps and build state across a daemon restart, through the official `e2b` package.

const BUILD_MS = 600_000;
let stack: Stack;
let builtDir: string;
let context: string;
const test = e2eTest(() => stack);

before(async () => {
  builtDir = mkdtempSync(join(tmpdir(), 'sandboxd-built-'));
  stack = await startStack({ env: { SANDBOXD_BUILT_TEMPLATES_DIR: builtDir } });
  context = mkdtempSync(join(tmpdir(), 'sandboxd-context-'));
  mkdirSync(join(context, 'site', 'nested'), { recursive: true });
  writeFileSync(join(context, 'site', 'index.html'), `page ${RUN_ID}\n`);
  writeFileSync(join(context, 'site', 'nested', 'deep.txt'), `deep ${RUN_ID}\n`);
});
after(async () => {
  if (stack) await waitFor(async () => !readFileSync('/proc/mounts', 'utf8').includes(`${stack.home}/sandboxes/`), 60_000, 'sandbox disks unmounted');
  await stack?.stop();
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n').reverse()) {
    const point = line.split(' ')[1];
    if (point?.startsWith(`${builtDir}/`)) execFileSync('umount', ['-l', point]);
  }
  rmSync(context, { recursive: true, force: true });
  rmSync(builtDir, { recursive: true, force: true });
});

type AnyTemplate = Parameters<typeof Template.build>[0];

async function build(template: AnyTemplate, name: string, opts: { skipCache?: boolean } = {}) {
  const logs: LogEntry[] = [];
  const info = await withTimeout(Template.build(template, name, { ...stack.sdk, ...opts, onBuildLogs: (entry) => logs.push(entry) }), BUILD_MS, `Template.build ${name}`);
  return { info, logs: logs.map((l) => l.message) };
}

const stepLines = (logs: string[]) => logs.filter((l) => /^(CACHED )?\[\d+\/\d+\]/.test(l));

describe('Template SDK', { concurrency: false }, () => {
  test('setStartCmd with waitForURL: the build checks it, and a sandbox of the template serves the copied directory', BUILD_MS, async () => {
    const name = `e2e-serve-${RUN_ID}`;
    const template = Template({ fileContextPath: context })
      .fromTemplate('base')
      .copy('site', '/home/user/site')
      .copy('site/*', 'globbed')
      .setStartCmd('cd /home/user/site && exec python3 -m http.server 8123', waitForURL('http://127.0.0.1:8123/nested/deep.txt'));
    const { logs } = await build(template, name);
    assert.ok(logs.some((l) => l.startsWith('FINALIZE start: cd /home/user/site')), logs.join('\n'));
    await withSandbox(() => Sandbox.create(name, { ...stack.sdk, timeoutMs: 120_000 }), async (sbx) => {
      const served = await waitFor(
        async () => {
          const r = await run(sbx, 'curl -sf http://127.0.0.1:8123/index.html http://127.0.0.1:8123/nested/deep.txt || true');
          return r.stdout.includes('deep') ? r.stdout : undefined;
        },
        60_000,
        'the start command serves',
        500,
      );
      assert.equal(served, `page ${RUN_ID}\ndeep ${RUN_ID}\n`);
      assert.equal((await run(sbx, 'pgrep -u user -f "http.server 8123" >/dev/null && echo running')).stdout.trim(), 'running');
      // A wildcard source: every match into the (relative, new) destination directory, as Docker.
      assert.equal((await run(sbx, 'cat /home/user/globbed/index.html /home/user/globbed/deep.txt')).stdout, `page ${RUN_ID}\ndeep ${RUN_ID}\n`);
    });
  });

  test('Sandbox.create waits for the ready command in each new sandbox; a start command that fails there fails the create with its output', BUILD_MS, async () => {
    const name = `e2e-ready-${RUN_ID}`;
    // Up only after 3 s, and refused when the create request says so (the build's own check passes).
    const start = [
      'if [ -n "$FAIL_START" ]; then echo "start refused: $FAIL_START" >&2; exit 7; fi',
      `sleep 3; echo up-${RUN_ID} > /home/user/up`,
      'exec python3 -m http.server 8124 --directory /home/user',
    ].join('; ');
    const { logs } = await build(Template().fromTemplate('base').setStartCmd(start, waitForURL('http://127.0.0.1:8124/up')), name);
    assert.ok(logs.includes('Template is ready'), logs.join('\n'));
    // The create now includes the start command's 3 s and the ready check: a loaded host needs more than the SDK's default request timeout.
    const createOpts = { ...stack.sdk, timeoutMs: 120_000, requestTimeoutMs: CREATE_MS };
    await withSandbox(() => Sandbox.create(name, createOpts), async (sbx) => {
      // No polling: the create answered once the ready command passed.
      assert.equal((await run(sbx, 'curl -sf http://127.0.0.1:8124/up')).stdout.trim(), `up-${RUN_ID}`);
    });
    const refused = await withTimeout(
      Sandbox.create(name, { ...createOpts, envs: { FAIL_START: `no-${RUN_ID}` }, metadata: { run: RUN_ID, case: 'refused' } }).then(
        async (sbx) => {
          await sbx.kill();
          return undefined;
        },
        (error: unknown) => error,
      ),
      CREATE_MS,
      'refused create',
    );
    assert.ok(refused instanceof Error, 'the create failed');
    assert.match(refused.message, new RegExp(`exit status 7[\\s\\S]*start refused: no-${RUN_ID}`));
    const left = await withTimeout(Sandbox.list({ ...stack.sdk, query: { metadata: { run: RUN_ID, case: 'refused' } } }).nextItems(), CALL_MS, 'list');
    assert.deepEqual(left, []);
  });

  test('what build steps leave in /tmp is in the template (removals too): every sandbox starts with its own copy', BUILD_MS, async () => {
    const first = `e2e-tmp-a-${RUN_ID}`;
    const second = `e2e-tmp-b-${RUN_ID}`;
    await build(Template().fromTemplate('base').runCmd(`mkdir -p /tmp/kept && echo kept-${RUN_ID} > /tmp/kept/a && echo gone > /tmp/gone`), first);
    // A build on that template starts from its /tmp; what this one removes stays removed.
    await build(Template().fromTemplate(first).runCmd('rm /tmp/gone && echo second > /tmp/second').setReadyCmd(waitForFile('/tmp/kept/a')), second);
    const facts = 'cat /tmp/kept/a /tmp/second; [ -e /tmp/gone ] && echo gone-is-back; stat -c %a /tmp';
    await withSandbox(() => Sandbox.create(second, { ...stack.sdk, timeoutMs: 120_000 }), async (a) => {
      assert.deepEqual((await run(a, facts)).stdout.trim().split('\n'), [`kept-${RUN_ID}`, 'second', '1777']);
      await run(a, 'echo changed-in-a > /tmp/kept/a && touch /tmp/only-a');
      await withSandbox(() => Sandbox.create(second, { ...stack.sdk, timeoutMs: 120_000 }), async (b) => {
        assert.equal((await run(b, 'cat /tmp/kept/a; [ ! -e /tmp/only-a ] || echo leaked')).stdout, `kept-${RUN_ID}\n`);
      });
    });
    await withSandbox(() => Sandbox.create(first, { ...stack.sdk, timeoutMs: 120_000 }), async (sbx) => {
      assert.equal((await run(sbx, 'cat /tmp/gone')).stdout, 'gone\n');
    });
  });

  test('fromDockerfile as the SDK converts it (FROM the default image, ENV, WORKDIR, COPY of a directory, RUN, USER, CMD)', BUILD_MS, async () => {
    const name = `e2e-dockerfile-${RUN_ID}`;
    const dockerfile = [
      'FROM e2bdev/base',
      `ENV DOCKER_ENV=df-${RUN_ID}`,
      'USER root',
      'WORKDIR /srv/df',
      'COPY site /srv/df/site',
      'RUN cat /srv/df/site/nested/deep.txt > /srv/df/copied && chown -R user /srv/df',
      'USER user',
      // The SDK joins an exec-form CMD with spaces into the start command (`sh -c` would lose its quoting).
      `CMD ["cp", "/srv/df/copied", "/tmp/cmd-ran"]`,
    ].join('\n');
    const { logs } = await build(Template({ fileContextPath: context }).fromDockerfile(dockerfile), name);
    assert.ok(logs.some((l) => l.startsWith('FROM TEMPLATE base')), logs.join('\n'));
    await withSandbox(() => Sandbox.create(name, { ...stack.sdk, timeoutMs: 120_000 }), async (sbx) => {
      const facts = await run(sbx, 'whoami; pwd; echo "$DOCKER_ENV"; cat /srv/df/copied');
      assert.deepEqual(facts.stdout.trim().split('\n'), ['user', '/srv/df', `df-${RUN_ID}`, `deep ${RUN_ID}`]);
      const started = await waitFor(async () => (await run(sbx, 'cat /tmp/cmd-ran 2>/dev/null || true')).stdout.trim() || undefined, 60_000, 'CMD ran at boot', 500);
      assert.equal(started, `deep ${RUN_ID}`);
    });
  });

  test('skipCache rebuilds every step; without it the same template is all cached', BUILD_MS, async () => {
    const name = `e2e-skip-${RUN_ID}`;
    const steps = (t: ReturnType<ReturnType<typeof Template>['fromTemplate']>) =>
      t.runCmd(`echo skip-${RUN_ID} > /home/user/one`).runCmd('date +%s%N > /home/user/two').setReadyCmd(waitForFile('/home/user/two'));
    const template = () => steps(Template().fromTemplate('base'));
    await build(template(), name);
    const cached = stepLines((await build(template(), name)).logs);
    assert.equal(cached.length, 2);
    assert.ok(cached.every((l) => l.startsWith('CACHED ')), cached.join('\n'));
    const forced = stepLines((await build(template(), name, { skipCache: true })).logs);
    assert.equal(forced.length, 2);
    assert.ok(forced.every((l) => !l.startsWith('CACHED ')), forced.join('\n'));
    // The builder's skipCache() forces the step after it and all that follow.
    const viaBuilder = stepLines((await build(steps(Template().fromTemplate('base').skipCache()), name)).logs);
    assert.equal(viaBuilder.length, 2);
    assert.ok(viaBuilder.every((l) => !l.startsWith('CACHED ')), viaBuilder.join('\n'));
  });

  test('two concurrent builds of the same steps run each step once: the second waits and reuses the layer', BUILD_MS, async () => {
    const marker = `concurrent-${RUN_ID}`;
    const template = () => Template().fromTemplate('base').runCmd(`sleep 3; echo ran-${marker}`).runCmd(`echo second-${marker} > /home/user/second`);
    const [a, b] = await Promise.all([build(template(), `e2e-conc-a-${RUN_ID}`), build(template(), `e2e-conc-b-${RUN_ID}`)]);
    const ran = [a, b].filter((r) => r.logs.includes(`ran-${marker}`));
    assert.equal(ran.length, 1, `the step ran in exactly one build:\nA:\n${a.logs.join('\n')}\nB:\n${b.logs.join('\n')}`);
    const other = ran[0] === a ? b : a;
    assert.ok(other.logs.some((l) => l === 'waiting for another build running this same step'), other.logs.join('\n'));
    assert.ok(stepLines(other.logs).every((l) => l.startsWith('CACHED ')), other.logs.join('\n'));
    for (const name of [`e2e-conc-a-${RUN_ID}`, `e2e-conc-b-${RUN_ID}`]) {
      await withSandbox(() => Sandbox.create(name, { ...stack.sdk, timeoutMs: 120_000 }), async (sbx) => {
        assert.equal((await run(sbx, 'cat /home/user/second')).stdout.trim(), `second-${marker}`);
      });
    }
  });

  test('a build id, its status and its log outlive a daemon restart', BUILD_MS, async () => {
    const name = `e2e-restart-${RUN_ID}`;
    const { info } = await build(Template().fromTemplate('base').runCmd(`echo persisted-${RUN_ID}`), name);
    const status = () => withTimeout(Template.getBuildStatus(info, { ...stack.sdk, logsOffset: 0 }), CALL_MS, 'getBuildStatus');
    const before = await status();
    await withTimeout(stack.shutdown(), 60_000, 'daemon stop');
    await withTimeout(stack.restart(), 120_000, 'daemon restart');
    const after = await status();
    assert.equal(after.status, 'ready');
    const messages = after.logEntries.map((e) => e.message);
    assert.ok(messages.includes(`persisted-${RUN_ID}`), messages.join('\n'));
    assert.deepEqual(after.logEntries, before.logEntries);
  });
});
