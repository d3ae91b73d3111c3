import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../logger.js';
import type { PipeChild } from './pipe-driver.js';
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
});
