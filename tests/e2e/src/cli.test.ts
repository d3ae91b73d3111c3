import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, sha256, waitFor } from './helpers.js';
import { pinnedNode, startStack, withTimeout, type Stack } from './stack.js';

const daemonEntry = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'packages/server/dist/main.js');

let stack: Stack;
const test = e2eTest(() => stack);
const work = mkdtempSync(join(tmpdir(), 'sandboxd-cli-e2e-'));
/** The sandbox most tests share, made by `sandbox create`. */
let sandboxId: string;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI run: the stack's E2B_* connection and an empty SANDBOXD_HOME, nothing else inherited. */
function cliEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: work,
    SANDBOXD_HOME: join(work, 'no-home'),
    E2B_API_URL: stack.apiUrl,
    E2B_SANDBOX_URL: stack.sandboxUrl,
    E2B_API_KEY: stack.apiKey,
    ...extra,
  };
}

/** Starts `sandboxd sandbox <args>` as a child process. */
function spawnCli(args: string[], env = cliEnv()): ChildProcess {
  return spawn(pinnedNode, [daemonEntry, 'sandbox', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs `sandboxd sandbox <args>` to its end, bounded. */
function cli(args: string[], opts: { env?: Record<string, string>; ms?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args, opts.env ?? cliEnv());
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return withTimeout(
    new Promise<CliResult>((resolveRun) => child.on('close', (code) => resolveRun({ code, stdout, stderr }))),
    opts.ms ?? CALL_MS,
    `sandboxd sandbox ${args.join(' ')}`,
  ).finally(() => child.kill('SIGKILL'));
}

/** Asserts a successful run and returns its stdout. */
function ok(r: CliResult, label: string): string {
  assert.equal(r.code, 0, `${label}: exit ${r.code}, stderr: ${r.stderr}`);
  return r.stdout;
}

/** Asserts a clear failure: a non-zero exit, a `sandboxd:`/`error:` line on stderr matching `pattern`, no stack trace. */
function fails(r: CliResult, pattern: RegExp, label: string): void {
  assert.notEqual(r.code, 0, `${label}: expected a failure, stdout: ${r.stdout}`);
  assert.match(r.stderr, pattern, `${label}: stderr`);
  assert.match(r.stderr, /^(sandboxd|error):/m, `${label}: stderr has no "sandboxd:" line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${label}: stack trace on stderr: ${r.stderr}`);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * `sandboxd sandbox shell <id>` in a detached 100x30 tmux session of a private tmux server; the
 * script around it prints `CLI_EXIT=<status> RESTORED=yes|no` (stty settings equal before and
 * after) when the CLI ends. Resolves once the sandbox's prompt shows.
 */
async function openTerminal(id: string, name: string) {
  const socket = join(work, `${name}.tmux`);
  const session = name;
  const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
  const pane = () => tmux('capture-pane', '-p', '-J', '-t', session);
  const script = join(work, `${name}.sh`);
  writeFileSync(
    script,
    [
      'before=$(stty -g)',
      `${JSON.stringify(pinnedNode)} ${JSON.stringify(daemonEntry)} sandbox shell ${id}`,
      'code=$?',
      'after=$(stty -g)',
      'echo "CLI_EXIT=$code RESTORED=$([ "$before" = "$after" ] && echo yes || echo no)"',
      'sleep 600',
      '',
    ].join('\n'),
  );
  const env = Object.entries(cliEnv()).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ');
  tmux('new-session', '-d', '-s', session, '-x', '100', '-y', '30', `env -i ${env} TERM=xterm-256color bash ${script}`);
  const close = () => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
  };
  try {
    await waitFor(async () => /:~\$\s*$/m.test(pane()), CALL_MS, 'shell prompt', 200);
  } catch (error) {
    console.error(`[e2e] pane of ${name}:\n${pane()}`);
    close();
    throw error;
  }
  return { tmux, pane, session, send: (keys: string) => tmux('send-keys', '-t', session, keys, 'Enter'), close };
}

before(async () => {
  stack = await startStack();
});
after(async () => {
  if (sandboxId) console.error(`[e2e] cli sandbox: ${sandboxId}`);
  await stack?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('sandboxd sandbox (CLI)', () => {
  test('create prints the id; list, list --json, info and info --json show it with its metadata and limits', CREATE_MS + 4 * CALL_MS, async () => {
    const created = await cli(['create', '--timeout', '900', '--metadata', `run=${RUN_ID}`, '--metadata', 'suite=cli', '--env', 'CLI_FOO=bar baz'], { ms: CREATE_MS });
    sandboxId = ok(created, 'create').trim();
    assert.match(sandboxId, /^i[a-z0-9]{20}$/, `create printed ${JSON.stringify(created.stdout)}`);

    const table = ok(await cli(['list']), 'list');
    const row = table.split('\n').find((line) => line.startsWith(sandboxId));
    assert.ok(row, `list has no row for ${sandboxId}:\n${table}`);
    assert.match(table.split('\n')[0]!, /^ID\s+TEMPLATE\s+STATE\s+AGE\s+CPU\s+MEMORY\s+METADATA$/);
    assert.match(row, new RegExp(`^${sandboxId}\\s+base\\s+running\\s+\\d+[smh]\\S*\\s+\\d+\\s+\\d+ MiB\\s+run=${RUN_ID},suite=cli$`));

    const listed = JSON.parse(ok(await cli(['list', '--json', '--metadata', `run=${RUN_ID}`]), 'list --json')) as Array<{ sandboxId: string; metadata: Record<string, string> }>;
    assert.deepEqual(listed.map((s) => s.sandboxId), [sandboxId]);

    const info = JSON.parse(ok(await cli(['info', sandboxId, '--json']), 'info --json')) as { sandboxId: string; state: string; metadata: Record<string, string>; cpuCount: number; memoryMB: number; endAt: string };
    assert.equal(info.sandboxId, sandboxId);
    assert.equal(info.state, 'running');
    assert.deepEqual(info.metadata, { run: RUN_ID, suite: 'cli' });
    assert.ok(info.cpuCount > 0 && info.memoryMB > 0, JSON.stringify(info));
    assert.ok(Date.parse(info.endAt) - Date.now() > 800_000, `--timeout 900 not applied: endAt ${info.endAt}`);

    const details = ok(await cli(['info', sandboxId]), 'info');
    assert.match(details, new RegExp(`^id\\s+${sandboxId}$`, 'm'));
    assert.match(details, /^state\s+running$/m);

    const env = ok(await cli(['exec', sandboxId, '--', 'printf %s "$CLI_FOO"']), 'exec env');
    assert.equal(env, 'bar baz');
  });

  test('create --no-internet --json prints the whole info; kill kills, and a killed sandbox is reported as not found', CREATE_MS + 4 * CALL_MS, async () => {
    const created = await cli(['create', 'base', '--no-internet', '--json', '--metadata', `run=${RUN_ID}`], { ms: CREATE_MS });
    const info = JSON.parse(ok(created, 'create --json')) as { sandboxId: string; allowInternetAccess?: boolean; state: string };
    assert.match(info.sandboxId, /^i[a-z0-9]{20}$/);
    assert.equal(info.state, 'running');
    assert.equal(info.allowInternetAccess, false);

    const killed = await cli(['kill', info.sandboxId, '--json']);
    assert.deepEqual(JSON.parse(ok(killed, 'kill --json')), { killed: [info.sandboxId], notFound: [] });
    const again = await cli(['kill', info.sandboxId]);
    fails(again, new RegExp(`no sandbox ${info.sandboxId}`), 'kill of a killed sandbox');
    fails(await cli(['info', info.sandboxId]), new RegExp(`no sandbox ${info.sandboxId}`), 'info of a killed sandbox');
    const listed = JSON.parse(ok(await cli(['list', '--json']), 'list --json')) as Array<{ sandboxId: string }>;
    assert.ok(!listed.some((s) => s.sandboxId === info.sandboxId), 'killed sandbox still listed');
  });

  test('pause freezes a sandbox (info and list say paused), resume brings it back with its processes; both report unknown ids', CREATE_MS + 8 * CALL_MS, async () => {
    const id = ok(await cli(['create', 'base', '--metadata', `run=${RUN_ID}`], { ms: CREATE_MS }), 'create').trim();
    try {
      const started = await cli(['exec', id, '--', 'sh', '-c', 'nohup sh -c "i=0; while true; do i=\\$((i+1)); echo \\$i > /tmp/ticks; sleep 0.2; done" >/dev/null 2>&1 & echo started']);
      assert.match(ok(started, 'exec background ticker'), /started/);
      const ticks = async (): Promise<number> => Number(ok(await cli(['exec', id, '--', 'cat', '/tmp/ticks']), 'ticks').trim() || '0');
      await waitFor(async () => (await ticks()) > 1, CALL_MS, 'the ticker ticks before the pause', 500);
      assert.deepEqual(JSON.parse(ok(await cli(['pause', id, '--json']), 'pause --json')), { paused: [id], alreadyPaused: [] });
      const info = JSON.parse(ok(await cli(['info', id, '--json']), 'info --json')) as { state: string };
      assert.equal(info.state, 'paused');
      const listed = JSON.parse(ok(await cli(['list', '--json']), 'list --json')) as Array<{ sandboxId: string; state: string }>;
      assert.equal(listed.find((s) => s.sandboxId === id)?.state, 'paused');
      const again = await cli(['pause', id]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /was paused already/);

      assert.equal(ok(await cli(['resume', id, '--timeout', '600']), 'resume').trim(), `resumed ${id}`);
      assert.equal((JSON.parse(ok(await cli(['info', id, '--json']), 'info --json')) as { state: string }).state, 'running');
      const first = await ticks();
      await waitFor(async () => (await ticks()) > first, CALL_MS, 'the ticker runs again after resume', 500);
      assert.deepEqual(JSON.parse(ok(await cli(['resume', id, '--json']), 'resume --json')), { resumed: [], running: [id] });

      fails(await cli(['pause', 'inotasandbox000000000']), /no sandbox inotasandbox000000000/, 'pause of an unknown sandbox');
      fails(await cli(['resume', 'inotasandbox000000000']), /no sandbox inotasandbox000000000/, 'resume of an unknown sandbox');
      fails(await cli(['resume', id, '--timeout', 'soon']), /--timeout takes a positive whole number/, 'bad --timeout');
    } finally {
      await cli(['kill', id]);
    }
  });

  test('exec streams stdout and stderr live and exits with the command exit code; --user, --cwd, --env and argv quoting', 4 * CALL_MS, async () => {
    assert.ok(sandboxId, 'needs the sandbox of the create test');
    const child = spawnCli(['exec', sandboxId, '--', 'for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 1; done; exit 7']);
    let stdout = '';
    let stderr = '';
    let firstOutAt = 0;
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      firstOutAt ||= Date.now();
    });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await withTimeout(new Promise<number | null>((r) => child.on('close', (c) => r(c))), CALL_MS, 'exec loop');
    const endedAt = Date.now();
    assert.equal(code, 7, `stderr: ${stderr}`);
    assert.equal(stdout, 'out1\nout2\nout3\n');
    assert.equal(stderr, 'err1\nerr2\nerr3\n');
    assert.ok(endedAt - firstOutAt >= 1500, `stdout came all at the end (first output ${endedAt - firstOutAt} ms before exit): not streamed`);

    const asRoot = ok(await cli(['exec', '--user', 'root', '--cwd', '/tmp', '--env', 'X=1', sandboxId, '--', 'echo "$(whoami) $(pwd) $X"']), 'exec --user');
    assert.equal(asRoot, 'root /tmp 1\n');
    const argv = ok(await cli(['exec', sandboxId, '--', 'printf', '%s|', 'a b', "it's", '$HOME']), 'exec argv');
    assert.equal(argv, "a b|it's|$HOME|");
    const failed = await cli(['exec', sandboxId, '--', 'exit 42']);
    assert.equal(failed.code, 42);
  });

  test('cp copies a 20 MB file into the sandbox and back with the same sha256, into directories and to named files', 12 * CALL_MS, async () => {
    assert.ok(sandboxId, 'needs the sandbox of the create test');
    const data = randomBytes(20 * 1024 * 1024);
    const local = join(work, 'big.bin');
    writeFileSync(local, data);
    ok(await cli(['cp', local, `${sandboxId}:/tmp/`], { ms: 5 * CALL_MS }), 'cp upload into a directory');
    const remoteSum = ok(await cli(['exec', sandboxId, '--', 'sha256sum /tmp/big.bin']), 'sha256sum');
    assert.equal(remoteSum.split(' ')[0], sha256(data));

    const back = join(work, 'back.bin');
    ok(await cli(['cp', `${sandboxId}:/tmp/big.bin`, back], { ms: 5 * CALL_MS }), 'cp download');
    assert.equal(sha256(readFileSync(back)), sha256(data));

    writeFileSync(join(work, 'small.txt'), 'hello\n');
    ok(await cli(['cp', join(work, 'small.txt'), `${sandboxId}:/tmp/renamed.txt`]), 'cp to a named file');
    const dir = mkdtempSync(join(work, 'into-'));
    ok(await cli(['cp', `${sandboxId}:/tmp/renamed.txt`, dir]), 'cp download into a directory');
    assert.equal(readFileSync(join(dir, 'renamed.txt'), 'utf8'), 'hello\n');

    fails(await cli(['cp', `${sandboxId}:/tmp/no-such-file`, join(work, 'x')]), /no file/, 'cp of a missing file');
    fails(await cli(['cp', join(work, 'no-such-local'), `${sandboxId}:/tmp/x`]), /cannot read .*ENOENT/, 'cp of a missing local file');
  });

  test('logs prints the agent log, --json one object per line, --follow shows new entries until the sandbox is gone', 8 * CALL_MS + CREATE_MS, async () => {
    assert.ok(sandboxId, 'needs the sandbox of the create test');
    const marker = `marker-${randomBytes(4).toString('hex')}`;
    ok(await cli(['exec', sandboxId, '--', `echo ${marker}`]), 'exec marker');
    const text = ok(await cli(['logs', sandboxId]), 'logs');
    assert.match(text, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+info\\s+process started\\s.*${marker}`, 'm'));
    const lines = ok(await cli(['logs', sandboxId, '--json']), 'logs --json').trim().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as { timestamp: string; level: string; message: string });
    assert.ok(entries.some((e) => e.message === 'process started'), 'no "process started" entry');

    // --follow on a sandbox of its own, so killing it ends the follow.
    const own = ok(await cli(['create', '--metadata', `run=${RUN_ID}`], { ms: CREATE_MS }), 'create').trim();
    const follow = spawnCli(['logs', own, '--follow']);
    let followed = '';
    let followErr = '';
    follow.stdout!.on('data', (d: Buffer) => (followed += d.toString()));
    follow.stderr!.on('data', (d: Buffer) => (followErr += d.toString()));
    const closed = new Promise<number | null>((r) => follow.on('close', (c) => r(c)));
    try {
      const late = `late-${randomBytes(4).toString('hex')}`;
      ok(await cli(['exec', own, '--', `echo ${late}`]), 'exec late marker');
      await waitFor(async () => followed.includes(late), CALL_MS, `followed log shows ${late} (so far: ${followed.slice(-500)})`);
      ok(await cli(['kill', own]), 'kill followed sandbox');
      const code = await withTimeout(closed, CALL_MS, 'logs --follow ends when the sandbox is gone');
      assert.equal(code, 0, followErr);
      assert.match(followErr, new RegExp(`sandbox ${own} is gone`));
      const lines = followed.trim().split('\n');
      assert.equal(new Set(lines).size, lines.length, `an entry was printed twice:\n${followed}`);
    } finally {
      follow.kill('SIGKILL');
    }
  });

  test('bad input: unknown sandbox, daemon not running, refused key, bad options and arguments fail clearly', 6 * CALL_MS, async () => {
    const nope = 'i00000000000000000000';
    fails(await cli(['info', nope]), new RegExp(`no sandbox ${nope}`), 'info unknown');
    fails(await cli(['exec', nope, '--', 'true']), new RegExp(`no sandbox ${nope}`), 'exec unknown');
    fails(await cli(['kill', nope]), new RegExp(`no sandbox ${nope}`), 'kill unknown');
    fails(await cli(['logs', nope]), new RegExp(`no sandbox ${nope}`), 'logs unknown');
    writeFileSync(join(work, 'x'), 'x');
    fails(await cli(['cp', join(work, 'x'), `${nope}:/tmp/x`]), new RegExp(`no sandbox ${nope}`), 'cp to unknown');
    const down = `http://127.0.0.1:${await closedPort()}`;
    fails(await cli(['list'], { env: cliEnv({ E2B_API_URL: down, E2B_SANDBOX_URL: down }) }), /cannot reach the sandboxd daemon at .*is it running/, 'daemon not running');
    fails(await cli(['list'], { env: cliEnv({ E2B_API_KEY: `e2b_${'0'.repeat(40)}` }) }), /refused the API key/, 'refused key');
    fails(await cli(['create', '--env', 'NOEQUALS']), /--env takes KEY=VALUE/, 'bad --env');
    fails(await cli(['create', '--timeout', 'soon']), /--timeout takes a positive whole number/, 'bad --timeout');
    fails(await cli(['cp', 'a', 'b']), /one side in a sandbox/, 'cp local to local');
    fails(await cli(['exec']), /missing required argument/, 'exec without id');
    fails(await cli(['frobnicate']), /unknown command/, 'unknown subcommand');
  });

  test("without E2B_* the CLI reaches the daemon of this machine's config (SANDBOXD_HOME/PORT/API_KEY)", CALL_MS * 2, async () => {
    assert.ok(sandboxId, 'needs the sandbox of the create test');
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, SANDBOXD_HOME: stack.home, SANDBOXD_PORT: String(stack.port), SANDBOXD_API_KEY: stack.apiKey };
    const listed = JSON.parse(ok(await cli(['list', '--json'], { env }), 'list from config')) as Array<{ sandboxId: string }>;
    assert.ok(listed.some((s) => s.sandboxId === sandboxId));
  });

  test('shell in a real terminal (tmux): output, resize reaching stty size, exit status passed on, terminal restored', 8 * CALL_MS, async () => {
    assert.ok(sandboxId, 'needs the sandbox of the create test');
    const term = await openTerminal(sandboxId, 'shell-ok');
    try {
      term.send('echo "SIZE=$(stty size)"');
      await waitFor(async () => /^SIZE=30 100$/m.test(term.pane()), CALL_MS, 'initial size 30x100', 200);
      term.tmux('resize-window', '-t', term.session, '-x', '120', '-y', '40');
      await waitFor(
        async () => {
          term.send('echo "SIZE=$(stty size)"');
          await new Promise((r) => setTimeout(r, 1000));
          return /^SIZE=40 120$/m.test(term.pane());
        },
        CALL_MS,
        'size after resize-window 40x120',
        200,
      );
      term.send('echo hi; exit 3');
      await waitFor(async () => /CLI_EXIT=/.test(term.pane()), CALL_MS, `CLI exit line (pane: ${term.pane()})`, 200);
      const screen = term.pane();
      assert.match(screen, /^hi$/m, screen);
      assert.match(screen, /CLI_EXIT=3 RESTORED=yes/, screen);
    } finally {
      term.close();
    }
  });

  test('shell whose sandbox is killed under it: a clear error, a non-zero exit and the terminal restored', CREATE_MS + 4 * CALL_MS, async () => {
    const own = ok(await cli(['create', '--metadata', `run=${RUN_ID}`], { ms: CREATE_MS }), 'create').trim();
    const term = await openTerminal(own, 'shell-killed');
    try {
      ok(await cli(['kill', own]), 'kill under the shell');
      await waitFor(async () => /CLI_EXIT=/.test(term.pane()), CALL_MS, `CLI exit line (pane: ${term.pane()})`, 200);
      const screen = term.pane();
      assert.match(screen, /CLI_EXIT=[1-9]\d* RESTORED=yes/, screen);
      assert.match(screen, /^sandboxd: /m, screen);
      assert.doesNotMatch(screen, /^\s+at /m, screen);
    } finally {
      term.close();
    }
  });
});
