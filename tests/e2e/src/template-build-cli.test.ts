import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import { Sandbox } from 'e2b';
import { CALL_MS, RUN_ID, e2eTest, run, waitFor, withSandbox } from './helpers.js';
import { pinnedNode, startStack, withTimeout, type Stack } from './stack.js';

// `sandboxd template build <dir>` with a template.ts that uses the SDK's Template class (no
// node_modules of its own), then list, delete, prune, against a running daemon.

const daemonEntry = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'packages/server/dist/main.js');
const BUILD_MS = 600_000;
let stack: Stack;
let builtDir: string;
const work = mkdtempSync(join(tmpdir(), 'sandboxd-template-cli-'));
const test = e2eTest(() => stack);
const name = `cli-app-${RUN_ID}`;

before(async () => {
  builtDir = mkdtempSync(join(tmpdir(), 'sandboxd-built-'));
  stack = await startStack({ env: { SANDBOXD_BUILT_TEMPLATES_DIR: builtDir } });
  const dir = join(work, 'cli-app');
  mkdirSync(join(dir, 'files'), { recursive: true });
  writeFileSync(join(dir, 'files', 'motd'), `motd ${RUN_ID}\n`);
  writeFileSync(
    join(dir, 'template.ts'),
    [
      "import { Template } from 'e2b';",
      "const marker: string = process.env['MARKER'] ?? 'none';",
      'export default Template()',
      "  .fromTemplate('base')",
      "  .copy('files/motd', '/home/user/motd')",
      '  .runCmd(`echo ${marker} > /home/user/marker`);',
      'export const memoryMB = 640;',
    ].join('\n'),
  );
});
after(async () => {
  if (stack) await waitFor(async () => !readFileSync('/proc/mounts', 'utf8').includes(`${stack.home}/sandboxes/`), 60_000, 'sandbox disks unmounted');
  await stack?.stop();
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n').reverse()) {
    const point = line.split(' ')[1];
    if (point?.startsWith(`${builtDir}/`)) execFileSync('umount', ['-l', point]);
  }
  rmSync(builtDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

function cli(args: string[], ms = CALL_MS): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(pinnedNode, [daemonEntry, 'template', ...args], {
    cwd: work,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, SANDBOXD_HOME: join(work, 'no-home'), E2B_API_URL: stack.apiUrl, E2B_SANDBOX_URL: stack.sandboxUrl, E2B_API_KEY: stack.apiKey, MARKER: RUN_ID },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return withTimeout(new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.on('close', (code) => r({ code, stdout, stderr }))), ms, `sandboxd template ${args.join(' ')}`).finally(() => child.kill('SIGKILL'));
}

describe('sandboxd template', { concurrency: false }, () => {
  test('build <dir> builds its template.ts with progress and streamed logs; the template runs', BUILD_MS, async () => {
    const r = await cli(['build', 'cli-app', '--name', name], BUILD_MS);
    assert.equal(r.code, 0, `stderr: ${r.stderr}\nstdout: ${r.stdout}`);
    assert.match(r.stdout, /\[#{0,20}-*\] 1\/2 \[2\/2\] RUN echo/, r.stdout);
    assert.match(r.stdout, /Uploaded 'files\/motd'/);
    assert.match(r.stdout, new RegExp(`template ${name}: ready in \\d+ s`));
    await withSandbox(() => Sandbox.create(name, { ...stack.sdk, timeoutMs: 120_000 }), async (sbx) => {
      assert.equal((await run(sbx, 'cat ~/motd ~/marker')).stdout, `motd ${RUN_ID}\n${RUN_ID}\n`);
      assert.equal((await sbx.getInfo()).memoryMB, 640);
    });
    const again = await cli(['build', 'cli-app', '--name', name], BUILD_MS);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /CACHED \[2\/2\]/);
  });

  test('list shows built-in and built templates; delete removes one; prune frees its layers', CALL_MS * 3, async () => {
    const list = await cli(['list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /built-in .*base/);
    assert.match(list.stdout, new RegExp(`built .*${name}`));
    const json = JSON.parse((await cli(['list', '--json'])).stdout) as Array<{ names: string[]; memoryMB: number }>;
    assert.equal(json.find((t) => t.names.includes(name))?.memoryMB, 640);
    const del = await cli(['delete', name]);
    assert.equal(del.code, 0, del.stderr);
    assert.doesNotMatch((await cli(['list'])).stdout, new RegExp(name));
    const missing = await cli(['delete', name]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/);
    const prune = await cli(['prune']);
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /removed [1-9]\d* cached layer/);
    // The built-in templates' apt archive cache: pruned (or skipped while a template build runs).
    assert.match(prune.stdout, /removed \d+ apt archive\(s\) \([\d.]+ MiB\); [\d.]+ MiB kept|apt archive cache not pruned: a template build is running/);
  });
});
