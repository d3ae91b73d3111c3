// Template snapshots (SANDBOXD_TEMPLATE_SNAPSHOTS) through the official SDKs: each template is
// booted once, warmed and checkpointed, and creates restore that image. A restored sandbox is
// indistinguishable from a cold one (same environment in commands, /envs and the live kernels,
// same user and cwd, its own hostname, daemon secret and random numbers); a stale image is
// remade at start; an image that fails to restore makes the create boot cold.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { assertNoError, createCodeSandbox, runCode, warmKernel, type CodeSandbox } from './code-helpers.js';
import { CALL_MS, createSandbox, e2eTest, rawFetch, run, RUN_ID, waitFor, withSandbox } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

/** The daemon that images its templates, and one that boots every sandbox cold (the baseline). */
let stack: Stack | undefined;
let cold: Stack | undefined;
const test = e2eTest(() => stack);
/** Making a code-interpreter image boots the kernels and imports numpy/pandas/matplotlib under gVisor. */
const IMAGE_MS = 300_000;

before(async () => {
  [stack, cold] = await Promise.all([startStack({ templateSnapshots: true, pool: 'off' }), startStack({ templateSnapshots: false, pool: 'off' })]);
});
after(async () => {
  await Promise.all([stack?.stop(), cold?.stop()]);
});

const st = (): Stack => {
  assert.ok(stack, 'stack not started');
  return stack;
};

interface LogLine {
  msg: string;
  [key: string]: unknown;
}
const logLines = (s: Stack): LogLine[] =>
  s
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);

/** The `template image made` lines so far: one per image the daemon made. */
const imagesMade = (s: Stack, kernels: boolean): LogLine[] => logLines(s).filter((l) => l.msg === 'template image made' && l['kernels'] === kernels);
const waitImage = (s: Stack, kernels: boolean, count = 1): Promise<LogLine> =>
  waitFor(async () => imagesMade(s, kernels)[count - 1], IMAGE_MS, `template image ${count} (kernels: ${kernels})`, 250);

/** Whether the daemon started `sandboxId` from a template image (its "sandbox started" line, written asynchronously). */
const fromImage = (s: Stack, sandboxId: string): Promise<boolean> =>
  waitFor(
    async () => {
      const line = logLines(s).find((l) => l.msg === 'sandbox started' && l['sandboxId'] === sandboxId);
      return line === undefined ? undefined : { restored: line['fromImage'] === true };
    },
    10_000,
    `the "sandbox started" line of ${sandboxId}`,
    50,
  ).then((r) => r.restored);

const tokenOf = (sbx: Sandbox): string | undefined => (sbx as unknown as { envdAccessToken?: string }).envdAccessToken;

const envs = (s: Stack, sbx: Sandbox, token: string | undefined) =>
  rawFetch(`${s.apiUrl}/envs`, {
    headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', ...(token === undefined ? {} : { 'X-Access-Token': token }) },
  });

/** What a code-interpreter sandbox shows of itself, its own id masked. */
async function environmentOf(s: Stack, sbx: CodeSandbox): Promise<Record<string, unknown>> {
  const mask = (text: string): string => text.replaceAll(sbx.sandboxId, '<id>');
  const shell = (await run(sbx, 'env | sort; echo "user=$(whoami) cwd=$(pwd) host=$(hostname)"; grep -c "$(hostname)" /etc/hosts || true')).stdout;
  const py = assertNoError(
    await runCode(sbx, 'import os, json, socket, getpass\nprint(json.dumps({"env": dict(os.environ), "host": socket.gethostname(), "cwd": os.getcwd(), "user": getpass.getuser()}, sort_keys=True))'),
  );
  const pyOut = JSON.parse(py.logs.stdout.join('')) as { env: Record<string, string>; host: string; cwd: string; user: string };
  const js = assertNoError(
    await runCode(sbx, 'console.log(JSON.stringify({ keys: Object.keys(process.env).sort(), v: process.env.TPL_E2E_VAR, s: process.env.TPL_E2E_SHARED, cwd: process.cwd() }))', { language: 'js' }),
  );
  const envd = await envs(s, sbx, tokenOf(sbx));
  assert.equal(envd.status, 200, envd.text);
  return {
    shell: mask(shell)
      .split('\n')
      .filter((l) => !/^(SHLVL|_|OLDPWD)=/.test(l)),
    envs: envd.json,
    pythonKeys: Object.keys(pyOut.env).filter((k) => !/^JPY_|PID/.test(k)),
    pythonVars: [pyOut.env['TPL_E2E_VAR'], pyOut.env['TPL_E2E_SHARED'], pyOut.env['HOME'], pyOut.env['USER']],
    pythonSelf: [mask(pyOut.host), pyOut.cwd, pyOut.user],
    js: JSON.parse(js.logs.stdout.join('')) as unknown,
  };
}

/** The home's template image directories (`snapshots/template-<key>`) holding a checkpoint. */
const imageDirs = (s: Stack): string[] =>
  readdirSync(join(s.home, 'snapshots'))
    .filter((n) => n.startsWith('template-') && !n.endsWith('.partial'))
    .map((n) => join(s.home, 'snapshots', n));

/** The image directory of the image a `template image made` line names. */
const dirOf = (s: Stack, line: LogLine): string => join(s.home, 'snapshots', String(line['snapshotId']));

describe('template snapshots (SANDBOXD_TEMPLATE_SNAPSHOTS)', () => {
  test('a code-interpreter create restored from the template image gives the environment of a cold boot (commands, /envs, kernels, user, cwd, hostname)', 900_000, async () => {
    await waitImage(st(), true);
    const opts = { envs: { TPL_E2E_VAR: 'from-create', TPL_E2E_SHARED: 'x y=z' }, metadata: { suite: 'template-snapshots', run: RUN_ID }, secure: true };
    const restored = await createCodeSandbox(st(), opts);
    try {
      assert.equal(await fromImage(st(), restored.sandboxId), true, 'served from the template image');
      assert.ok(cold, 'cold stack');
      const booted = await createCodeSandbox(cold, opts);
      try {
        assert.equal(await fromImage(cold, booted.sandboxId), false, 'the baseline boots');
        // A cold kernel's first cell waits for its start and warm-up imports (minutes on a loaded box).
        await warmKernel(booted);
        const [a, b] = [await environmentOf(st(), restored), await environmentOf(cold, booted)];
        assert.deepEqual(a, b);
        assert.deepEqual(a['pythonVars'], ['from-create', 'x y=z', '/home/user', 'user']);
        assert.deepEqual(a['pythonSelf'], ['<id>', '/home/user', 'user'], 'the restored kernel has the new sandbox’s hostname');
        assert.equal((a['js'] as { v: string }).v, 'from-create');
        assert.equal((await run(restored, 'hostname')).stdout.trim(), restored.sandboxId);
        // secure: the restored agent enforces this sandbox's token, not the imaged one's (none).
        assert.equal((await envs(st(), restored, undefined)).status, 401);
        // The heavy imports were done in the image.
        assertNoError(await runCode(restored, 'import pandas\n1+1'));
      } finally {
        await booted.kill();
      }
    } finally {
      await restored.kill();
    }
  });

  test('two sandboxes restored from one image draw different random numbers and have their own hostnames', 900_000, async () => {
    await waitImage(st(), true);
    const draw = 'import random, numpy\nprint(random.random(), numpy.random.rand())';
    const a = await createCodeSandbox(st());
    try {
      const b = await createCodeSandbox(st());
      try {
        assert.equal(await fromImage(st(), a.sandboxId), true);
        assert.equal(await fromImage(st(), b.sandboxId), true);
        const [ra, rb] = [assertNoError(await runCode(a, draw)).logs.stdout.join(''), assertNoError(await runCode(b, draw)).logs.stdout.join('')];
        const [pa, pb] = [ra.trim().split(' '), rb.trim().split(' ')];
        assert.notEqual(pa[0], pb[0], "Python's random is seeded afresh after the restore");
        assert.notEqual(pa[1], pb[1], "NumPy's global generator too");
        const hostA = assertNoError(await runCode(a, 'import socket\nprint(socket.gethostname())')).logs.stdout.join('').trim();
        assert.equal(hostA, a.sandboxId);
      } finally {
        await b.kill();
      }
    } finally {
      await a.kill();
    }
  });

  test('a restored sandbox has its own daemon secret: a server on its loopback answers through the proxy', 600_000, async () => {
    await waitImage(st(), false);
    await withSandbox(
      () => createSandbox(st(), { metadata: { suite: 'template-snapshots', run: RUN_ID } }),
      async (sbx) => {
        assert.equal(await fromImage(st(), sbx.sandboxId), true);
        await withTimeout(sbx.commands.run('mkdir -p /tmp/www && echo hello-restored > /tmp/www/hi.txt && cd /tmp/www && python3 -m http.server --bind 127.0.0.1 8000', { background: true }), CALL_MS, 'server');
        await run(sbx, 'for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8000/ && break; sleep 0.1; done');
        const res = await rawFetch(`${st().apiUrl}/hi.txt`, { headers: { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '8000' } });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.text.trim(), 'hello-restored');
        assert.equal((await run(sbx, 'hostname')).stdout.trim(), sbx.sandboxId);
        assert.match(readFileSync(join(st().home, 'sandboxes', sbx.sandboxId, 'run', 'hosts'), 'utf8'), new RegExp(`\\t${sbx.sandboxId}$`, 'm'));
      },
    );
  });

  test('an image written by another runsc is deleted and made again at start; creates restore the new one', 900_000, async () => {
    const made = await waitImage(st(), false);
    const versionsPath = join(dirOf(st(), made), 'versions.json');
    const versions = JSON.parse(readFileSync(versionsPath, 'utf8')) as { runsc: string; agentImage: string };
    writeFileSync(versionsPath, JSON.stringify({ ...versions, runsc: 'runsc version 0.0-another' }));
    await st().shutdown();
    await st().restart();
    const deleted = await waitFor(
      async () => logLines(st()).find((l) => l.msg === 'template image deleted' && l['snapshotId'] === made['snapshotId']),
      60_000,
      'the stale image deleted',
    );
    assert.match(String(deleted['why']), /runsc version 0\.0-another/);
    await waitImage(st(), false, 2);
    assert.equal(JSON.parse(readFileSync(versionsPath, 'utf8')).runsc, versions.runsc, 'the new image is of this runsc');
    await withSandbox(
      () => createSandbox(st()),
      async (sbx) => {
        assert.equal(await fromImage(st(), sbx.sandboxId), true);
        assert.equal((await run(sbx, 'echo ok')).stdout.trim(), 'ok');
      },
    );
  });

  test('an image that fails to restore makes the create boot cold, and is deleted', 600_000, async () => {
    const made = imagesMade(st(), false).at(-1) ?? (await waitImage(st(), false));
    const dir = dirOf(st(), made);
    assert.ok(imageDirs(st()).includes(dir));
    // A checkpoint cut short: runsc restore fails on it.
    const checkpoint = join(dir, 'image', 'checkpoint.img');
    truncateSync(checkpoint, 4096);
    await withSandbox(
      () => createSandbox(st(), { envs: { AFTER_FALLBACK: 'yes' } }),
      async (sbx) => {
        assert.equal(await fromImage(st(), sbx.sandboxId), false, 'booted cold');
        assert.ok(logLines(st()).some((l) => l.msg === 'starting from the template image failed; booting cold'));
        assert.equal((await run(sbx, 'echo $AFTER_FALLBACK; hostname')).stdout.trim(), `yes\n${sbx.sandboxId}`);
      },
    );
    await waitFor(async () => !imageDirs(st()).includes(dir), 30_000, 'the failed image deleted');
  });
});
