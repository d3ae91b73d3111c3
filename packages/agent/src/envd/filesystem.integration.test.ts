import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code } from '@connectrpc/connect';
import { EventType, FileType } from '@sandboxd/protocol';
import type { FilesystemEvent } from '@sandboxd/protocol';
import { asUser, createTempUser, rpcError, startAgent, withTimeout } from '../test/agent-fixture.js';
import type { AgentFixture } from '../test/agent-fixture.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('filesystem service (real agent)', () => {
  let fx: AgentFixture;
  let root: string;
  before(async () => {
    fx = await startAgent();
    root = join(fx.dir, 'fs');
    await mkdir(root);
  });
  after(async () => {
    await fx.stop();
  });

  it('stats files with size, mode, permissions, owner names and mtime; missing is not_found', async () => {
    const file = join(root, 'stat.txt');
    await writeFile(file, 'hello');
    await chmod(file, 0o640);
    const { entry } = await fx.fs.stat({ path: file });
    assert.equal(entry?.name, 'stat.txt');
    assert.equal(entry?.path, file);
    assert.equal(entry?.type, FileType.FILE);
    assert.equal(entry?.size, 5n);
    assert.equal(entry?.mode, 0o640);
    assert.equal(entry?.permissions, '-rw-r-----');
    assert.equal(entry?.owner, 'root');
    assert.equal(entry?.group, 'root');
    const mtime = (await stat(file)).mtimeMs;
    assert.ok(Math.abs(Number(entry?.modifiedTime?.seconds) * 1000 - mtime) < 1500);
    const dir = await fx.fs.stat({ path: root });
    assert.equal(dir.entry?.type, FileType.DIRECTORY);
    assert.match(dir.entry?.permissions ?? '', /^drwx/);
    const err = await rpcError(fx.fs.stat({ path: join(root, 'missing') }));
    assert.equal(err.code, Code.NotFound);
  });

  it('resolves ~ and relative paths against the user home and rejects ~other', async () => {
    const home = await fx.fs.stat({ path: '~' });
    assert.equal(home.entry?.path, '/root');
    const rel = await fx.fs.stat({ path: '.' });
    assert.equal(rel.entry?.path, '/root');
    const err = await rpcError(fx.fs.stat({ path: '~someone/x' }));
    assert.equal(err.code, Code.InvalidArgument);
  });

  it('reports symlinks with their resolved target and the target type', async () => {
    const target = join(root, 'target.txt');
    await writeFile(target, 'abc');
    await symlink(target, join(root, 'link'));
    const { entry } = await fx.fs.stat({ path: join(root, 'link') });
    assert.equal(entry?.symlinkTarget, target);
    assert.equal(entry?.type, FileType.FILE);
    assert.match(entry?.permissions ?? '', /^L/);
    await rm(join(root, 'link'));
    await rm(target);
  });

  it('makes directories with parents; already_exists for dirs, invalid_argument for files', async () => {
    const dir = join(root, 'a', 'b', 'c');
    const res = await fx.fs.makeDir({ path: dir });
    assert.equal(res.entry?.type, FileType.DIRECTORY);
    assert.ok((await stat(dir)).isDirectory());
    assert.equal((await rpcError(fx.fs.makeDir({ path: dir }))).code, Code.AlreadyExists);
    await writeFile(join(root, 'plain'), '');
    assert.equal((await rpcError(fx.fs.makeDir({ path: join(root, 'plain') }))).code, Code.InvalidArgument);
  });

  it('creates directories owned by the requesting user', async () => {
    const user = createTempUser();
    try {
      const dir = join(root, 'owned', 'sub');
      await fx.fs.makeDir({ path: dir }, { headers: asUser(user.name) });
      const { entry } = await fx.fs.stat({ path: dir });
      assert.equal(entry?.owner, user.name);
      assert.equal(entry?.group, user.name);
      const parent = await fx.fs.stat({ path: join(root, 'owned') });
      assert.equal(parent.entry?.owner, user.name);
    } finally {
      user.remove();
    }
  });

  it('moves files (creating destination parents) and reports not_found for a missing source', async () => {
    await writeFile(join(root, 'm.txt'), 'move me');
    const res = await fx.fs.move({ source: join(root, 'm.txt'), destination: join(root, 'moved', 'deep', 'n.txt') });
    assert.equal(res.entry?.path, join(root, 'moved', 'deep', 'n.txt'));
    assert.equal(res.entry?.size, 7n);
    assert.equal(await readFile(join(root, 'moved', 'deep', 'n.txt'), 'utf8'), 'move me');
    const err = await rpcError(fx.fs.move({ source: join(root, 'nope'), destination: join(root, 'x') }));
    assert.equal(err.code, Code.NotFound);
  });

  it('lists directories in lexical order up to the requested depth', async () => {
    const base = join(root, 'tree');
    await mkdir(join(base, 'b', 'inner', 'deeper'), { recursive: true });
    await writeFile(join(base, 'a.txt'), '1');
    await writeFile(join(base, 'c.txt'), '3');
    await writeFile(join(base, 'b', 'inner', 'x.txt'), 'x');
    const depth1 = await fx.fs.listDir({ path: base, depth: 1 });
    assert.deepEqual(depth1.entries.map((e) => e.name), ['a.txt', 'b', 'c.txt']);
    const depth0 = await fx.fs.listDir({ path: base, depth: 0 });
    assert.equal(depth0.entries.length, 3);
    const depth3 = await fx.fs.listDir({ path: base, depth: 3 });
    assert.deepEqual(
      depth3.entries.map((e) => e.path.slice(base.length + 1)),
      ['a.txt', 'b', 'b/inner', 'b/inner/deeper', 'b/inner/x.txt', 'c.txt'],
    );
    assert.equal(depth3.entries.find((e) => e.name === 'b')?.type, FileType.DIRECTORY);
    await symlink(base, join(root, 'tree-link'));
    const viaLink = await fx.fs.listDir({ path: join(root, 'tree-link'), depth: 1 });
    assert.deepEqual(viaLink.entries.map((e) => e.path), [join(root, 'tree-link', 'a.txt'), join(root, 'tree-link', 'b'), join(root, 'tree-link', 'c.txt')]);
    assert.equal((await rpcError(fx.fs.listDir({ path: join(root, 'no-dir'), depth: 1 }))).code, Code.NotFound);
    assert.equal((await rpcError(fx.fs.listDir({ path: join(base, 'a.txt'), depth: 1 }))).code, Code.InvalidArgument);
  });

  it('never compresses RPC responses, even when the client accepts gzip', async () => {
    const res = await fetch(`${fx.url}/filesystem.Filesystem/ListDir`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Connect-Protocol-Version': '1', 'Accept-Encoding': 'gzip' },
      body: JSON.stringify({ path: '/usr/bin', depth: 1 }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-encoding'), null);
    const body = (await res.json()) as { entries: Array<{ size?: string; type: string }> };
    assert.ok(body.entries.length > 10);
    assert.ok(body.entries.some((e) => e.type === 'FILE_TYPE_FILE' && typeof e.size === 'string'), 'int64 as string, enum as name');
  });

  it('removes files and trees and ignores missing paths', async () => {
    await mkdir(join(root, 'rm', 'x'), { recursive: true });
    await writeFile(join(root, 'rm', 'x', 'f'), 'f');
    await fx.fs.remove({ path: join(root, 'rm') });
    await assert.rejects(stat(join(root, 'rm')));
    await fx.fs.remove({ path: join(root, 'rm') });
  });

  it('streams watch events with the exact start / filesystem shape, recursively, with entries', async () => {
    const dir = join(root, 'watched');
    await mkdir(join(dir, 'sub'), { recursive: true });
    const ctl = new AbortController();
    const events: FilesystemEvent[] = [];
    let started = false;
    const done = (async () => {
      try {
        for await (const res of fx.fs.watchDir({ path: dir, recursive: true, includeEntry: true }, { signal: ctl.signal })) {
          if (res.event.case === 'start') started = true;
          if (res.event.case === 'filesystem') events.push(res.event.value);
        }
      } catch (err) {
        if (!ctl.signal.aborted) throw err;
      }
    })();
    while (!started) await sleep(20);
    await writeFile(join(dir, 'sub', 'new.txt'), 'data');
    await sleep(100);
    await chmod(join(dir, 'sub', 'new.txt'), 0o600);
    await sleep(100);
    await rename(join(dir, 'sub', 'new.txt'), join(dir, 'renamed.txt'));
    await sleep(100);
    await rm(join(dir, 'renamed.txt'));
    await withTimeout(
      (async () => {
        while (!events.some((e) => e.name === 'renamed.txt' && e.type === EventType.REMOVE)) await sleep(20);
      })(),
      5_000,
      'watch events',
    );
    ctl.abort();
    await done;
    const seen = (name: string, type: EventType) => events.find((e) => e.name === name && e.type === type);
    assert.ok(seen('sub/new.txt', EventType.CREATE), 'create');
    assert.ok(seen('sub/new.txt', EventType.WRITE), 'write');
    assert.ok(seen('sub/new.txt', EventType.CHMOD), 'chmod');
    assert.ok(seen('sub/new.txt', EventType.RENAME), 'rename');
    assert.ok(seen('renamed.txt', EventType.CREATE), 'rename target');
    assert.equal(seen('sub/new.txt', EventType.CREATE)?.entry?.name, 'new.txt');
    assert.equal(seen('renamed.txt', EventType.REMOVE)?.entry, undefined);
  });

  it('answers WatchDir with the exact JSON wire shape and keepalives', async () => {
    const dir = join(root, 'wire');
    await mkdir(dir);
    const body = Buffer.from(JSON.stringify({ path: dir }));
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
    frame.writeUInt32BE(body.length, 1);
    const ctl = new AbortController();
    const res = await fetch(`${fx.url}/filesystem.Filesystem/WatchDir`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/connect+json', 'Connect-Protocol-Version': '1', 'Keepalive-Ping-Interval': '1', 'Connect-Timeout-Ms': '1600' },
      body: frame,
      signal: ctl.signal,
    });
    assert.equal(res.status, 200);
    setTimeout(() => void writeFile(join(dir, 'f.txt'), 'x'), 200);
    const raw = Buffer.from(await res.arrayBuffer());
    const messages: Array<{ flags: number; json: unknown }> = [];
    for (let off = 0; off < raw.length; ) {
      const len = raw.readUInt32BE(off + 1);
      messages.push({ flags: raw[off] ?? -1, json: JSON.parse(raw.subarray(off + 5, off + 5 + len).toString()) });
      off += 5 + len;
    }
    assert.deepEqual(messages[0], { flags: 0, json: { start: {} } });
    assert.ok(messages.some((m) => JSON.stringify(m.json) === JSON.stringify({ filesystem: { name: 'f.txt', type: 'EVENT_TYPE_CREATE' } })));
    assert.ok(messages.some((m) => JSON.stringify(m.json) === '{"keepalive":{}}'));
    const last = messages.at(-1);
    assert.equal(last?.flags, 2);
    assert.equal((last?.json as { error?: { code?: string } }).error?.code, 'deadline_exceeded');
  });

  it('rejects watching a missing path or a file', async () => {
    const drain = async (path: string) => {
      for await (const _ of fx.fs.watchDir({ path })) break;
    };
    assert.equal((await rpcError(drain(join(root, 'absent')))).code, Code.NotFound);
    await writeFile(join(root, 'afile'), '');
    assert.equal((await rpcError(drain(join(root, 'afile')))).code, Code.InvalidArgument);
  });

  it('supports polling watchers: create, get events, remove', async () => {
    const dir = join(root, 'polled');
    await mkdir(dir);
    const { watcherId } = await fx.fs.createWatcher({ path: dir, recursive: false });
    await writeFile(join(dir, 'p.txt'), 'p');
    await sleep(200);
    const first = await fx.fs.getWatcherEvents({ watcherId });
    assert.ok(first.events.some((e) => e.name === 'p.txt' && e.type === EventType.CREATE));
    const second = await fx.fs.getWatcherEvents({ watcherId });
    assert.equal(second.events.length, 0);
    await fx.fs.removeWatcher({ watcherId });
    assert.equal((await rpcError(fx.fs.getWatcherEvents({ watcherId }))).code, Code.NotFound);
  });
});
