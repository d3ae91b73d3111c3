import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../logger.js';
import type { DriverEvents, ProcessDriver, RawExit, SpawnPlan } from './driver.js';
import type { PipeChild } from './pipe-driver.js';
import { loginShellRunner, spawnerLoginShellRunner } from './login-shell.js';
import { spawnPtyDriver } from './pty-driver.js';
import type { DirectPtySpawn } from './pty-driver.js';
import { SpawnerPool } from './spawner.js';

const root = { name: 'root', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, home: '/root', shell: '/bin/bash' };

async function run(child: PipeChild, input?: string): Promise<{ out: string; err: string; code: number | null; signal: string | null }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  child.stderr?.resume();
  if (input !== undefined) child.stdin?.end(input);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  await new Promise((r) => setTimeout(r, 20));
  return { out, err, code, signal };
}

/** Runs a plan on a terminal until it ends, typing `input` once it printed `prompt`. */
async function onTerminal(plan: SpawnPlan, direct: DirectPtySpawn | undefined, prompt: string, input: string): Promise<{ out: string; exit: RawExit; driver: ProcessDriver }> {
  let out = '';
  let typed = false;
  let driver: ProcessDriver | undefined;
  let ended: (exit: RawExit) => void = () => undefined;
  const exit = new Promise<RawExit>((resolve) => (ended = resolve));
  const events: DriverEvents = {
    onOutput: (_kind, chunk) => {
      out += Buffer.from(chunk).toString();
      if (!typed && out.includes(prompt) && driver) {
        typed = true;
        void driver.write(Buffer.from(input));
      }
    },
    onExit: (e) => ended(e),
  };
  driver = await spawnPtyDriver(plan, { cols: 90, rows: 20 }, events, direct);
  if (!typed && out.includes(prompt)) {
    typed = true;
    void driver.write(Buffer.from(input));
  }
  const finished = await exit;
  return { out, exit: finished, driver };
}

describe('spawner pool (real python3)', () => {
  let dir: string;
  let pool: SpawnerPool;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spawner-'));
    const created = await SpawnerPool.create({ ctx: { agentUid: root.uid, setprivPath: undefined }, logger: silentLogger, socketDir: dir });
    assert.ok(created, 'python3 and the spawner script are needed');
    pool = created;
  });

  after(async () => {
    pool.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers undefined while the first spawner of a user starts, then runs commands with stdio, cwd, env and exit status', async () => {
    assert.equal(await pool.spawn(root, { file: '/bin/true', args: [], env: {}, cwd: '/', stdin: false }), undefined);
    let started: Awaited<ReturnType<SpawnerPool['spawn']>>;
    const deadline = Date.now() + 10_000;
    do {
      await new Promise((r) => setTimeout(r, 50));
      started = await pool.spawn(root, { file: '/bin/sh', args: ['-c', 'pwd; echo "$FOO" >&2; cat; exit 3'], env: { FOO: 'bar' }, cwd: dir, stdin: true });
    } while (!started && Date.now() < deadline);
    assert.ok(started);
    assert.ok(started.pid > 0);
    assert.deepEqual(await run(started.child, 'in'), { out: `${dir}\nin`, err: 'bar\n', code: 3, signal: null });
  });

  it('gives /dev/null as stdin when asked for none, and reports signal deaths and quick exits', async () => {
    const a = await pool.spawn(root, { file: '/bin/sh', args: ['-c', 'cat; echo done'], env: {}, cwd: '/', stdin: false });
    assert.ok(a);
    assert.equal(a.child.stdin, null);
    assert.deepEqual(await run(a.child), { out: 'done\n', err: '', code: 0, signal: null });
    const b = await pool.spawn(root, { file: '/bin/sh', args: ['-c', 'kill -TERM $$'], env: {}, cwd: '/', stdin: false });
    assert.ok(b);
    assert.equal((await run(b.child)).signal, 'SIGTERM');
    for (let i = 0; i < 5; i++) {
      const c = await pool.spawn(root, { file: '/bin/true', args: [], env: {}, cwd: '/', stdin: false });
      assert.ok(c);
      assert.equal((await run(c.child)).code, 0);
    }
  });

  it('leaves what it cannot start to the caller (undefined)', async () => {
    assert.equal(await pool.spawn(root, { file: '/does/not/exist', args: [], env: {}, cwd: '/', stdin: false }), undefined);
    assert.equal(await pool.spawn(root, { file: '/bin/true', args: [], env: {}, cwd: '/does/not/exist', stdin: false }), undefined);
    const ok = await pool.spawn(root, { file: '/bin/true', args: [], env: {}, cwd: '/', stdin: false });
    assert.ok(ok);
    assert.equal((await run(ok.child)).code, 0);
  });

  it('starts a command on a terminal the agent opened: own session, controlling terminal, node-pty\'s settings, input, exit status', async () => {
    const direct: DirectPtySpawn = (plan, replica) =>
      pool.spawn(plan.user, { file: plan.command.file, args: plan.command.args, env: plan.env, cwd: plan.cwd, stdin: false, pty: replica });
    const script = [
      'echo "sid=$(ps -o sid= -p $$ | tr -d " ") pid=$$"',
      '(exec </dev/tty) && echo ctty-ok',
      'stty -a | tr "\\n" " "; echo',
      'echo "env=$TERM:$PWD"',
      'printf "ask> "; read line; echo "got=$line"',
      'exit 7',
    ].join('; ');
    const plan: SpawnPlan = { file: '/bin/sh', args: ['-c', script], env: {}, cwd: dir, command: { file: '/bin/sh', args: ['-c', script] }, user: root };
    const spawned = await onTerminal(plan, direct, 'ask> ', 'hello\r');
    assert.equal(spawned.driver.startedBy, 'spawner');
    assert.deepEqual([spawned.exit.code, spawned.exit.signal], [7, null]);
    const pid = /sid=(\d+) pid=(\d+)/.exec(spawned.out);
    assert.ok(pid && pid[1] === pid[2], JSON.stringify(spawned.out));
    assert.match(spawned.out, /ctty-ok/);
    assert.match(spawned.out, new RegExp(`env=xterm:${dir}`));
    assert.match(spawned.out, /got=hello/);
    assert.match(spawned.out, /rows 20; columns 90/);
    // The same terminal settings as a terminal node-pty forks.
    const forked = await onTerminal(plan, undefined, 'ask> ', 'hello\r');
    assert.equal(forked.driver.startedBy, 'agent');
    const stty = (out: string): string | undefined => /speed .*/.exec(out)?.[0];
    assert.equal(stty(spawned.out), stty(forked.out));
  });

  it('lends the terminal to a command of another user only while it starts (its owner stays the agent\'s)', async () => {
    const nobody = { name: 'nobody', uid: 65534, gid: 65534, home: '/', shell: '/bin/sh' };
    const direct: DirectPtySpawn = (plan, replica) =>
      pool.spawn(plan.user, { file: plan.command.file, args: plan.command.args, env: plan.env, cwd: plan.cwd, stdin: false, pty: replica });
    void pool.warm(nobody);
    const script = 'sleep 0.2; echo "uid=$(id -u) owner=$(stat -c %u "$(tty)")"';
    const plan: SpawnPlan = { file: '/bin/sh', args: ['-c', script], env: {}, cwd: '/', command: { file: '/bin/sh', args: ['-c', script] }, user: nobody };
    let spawned: Awaited<ReturnType<typeof onTerminal>>;
    const deadline = Date.now() + 10_000;
    do {
      await new Promise((r) => setTimeout(r, 50));
      spawned = await onTerminal(plan, direct, '\0', '');
    } while (spawned.driver.startedBy !== 'spawner' && Date.now() < deadline);
    assert.equal(spawned.driver.startedBy, 'spawner');
    assert.match(spawned.out, new RegExp(`uid=65534 owner=${root.uid}`));
  });

  it('runs a login shell for the login environment capture as the forked runner does', async () => {
    const forked = loginShellRunner({ agentUid: root.uid, setprivPath: undefined });
    let forks = 0;
    const run = spawnerLoginShellRunner(pool, (...args) => {
      forks += 1;
      return forked(...args);
    });
    const env = { PATH: '/usr/bin:/bin', HOME: dir, MARK: 'm1' };
    const script = 'echo "out:$MARK:$PWD"; echo err >&2; exit 5';
    const viaSpawner = await run({ ...root, home: dir }, env, script, new AbortController().signal);
    const viaFork = await forked({ ...root, home: dir }, env, script, new AbortController().signal);
    assert.equal(forks, 0);
    assert.deepEqual(
      [viaSpawner.code, viaSpawner.stdout.toString(), viaSpawner.stderr.toString()],
      [viaFork.code, viaFork.stdout.toString(), viaFork.stderr.toString()],
    );
    assert.equal(viaSpawner.code, 5);
    assert.match(viaSpawner.stdout.toString(), new RegExp(`out:m1:${dir}`));
  });
});
