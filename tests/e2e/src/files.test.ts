import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { FileNotFoundError, NotFoundError, type FilesystemEvent, type Sandbox } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, rawFetch, readStream, rejection, run, sha256, sleep, toArrayBuffer, waitFor } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: Sandbox;
const test = e2eTest(() => stack);
const bounded = <T>(p: Promise<T>, label: string, ms = CALL_MS): Promise<T> => withTimeout(p, ms, label);

before(async () => {
  stack = await startStack();
  sbx = await createSandbox(stack, { metadata: { suite: 'files', run: RUN_ID }, timeoutMs: 900_000 });
});
after(async () => {
  if (sbx) console.error(`[e2e] files sandbox: ${sbx.sandboxId}`);
  await stack?.stop();
});

describe('read and write', () => {
  test('text written is read back as text, bytes, blob and stream', 90_000, async () => {
    const text = 'hello files ✓\nsecond line\n';
    const info = await bounded(sbx.files.write('/home/user/rw/hello.txt', text), 'write');
    assert.equal(info.path, '/home/user/rw/hello.txt');
    assert.equal(info.name, 'hello.txt');
    assert.equal(await bounded(sbx.files.read('/home/user/rw/hello.txt'), 'read text'), text);
    const bytes = await bounded(sbx.files.read('/home/user/rw/hello.txt', { format: 'bytes' }), 'read bytes');
    assert.ok(bytes instanceof Uint8Array);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(text, 'utf8'));
    const blob = await bounded(sbx.files.read('/home/user/rw/hello.txt', { format: 'blob' }), 'read blob');
    assert.equal(await blob.text(), text);
    const stream = await bounded(sbx.files.read('/home/user/rw/hello.txt', { format: 'stream' }), 'read stream');
    assert.equal(Buffer.from(await bounded(readStream(stream), 'drain stream')).toString('utf8'), text);
    assert.equal((await run(sbx, 'cat /home/user/rw/hello.txt')).stdout, text);
  });

  test('binary data (every byte value, ArrayBuffer and Blob) round-trips exactly', 90_000, async () => {
    const all = Uint8Array.from({ length: 512 }, (_, i) => i % 256);
    await bounded(sbx.files.write('/home/user/rw/all.bin', toArrayBuffer(all)), 'write ArrayBuffer');
    assert.deepEqual(Buffer.from(await bounded(sbx.files.read('/home/user/rw/all.bin', { format: 'bytes' }), 'read')), Buffer.from(all));
    await bounded(sbx.files.write('/home/user/rw/blob.bin', new Blob([all])), 'write Blob');
    assert.equal((await run(sbx, 'sha256sum /home/user/rw/blob.bin')).stdout.split(' ')[0], sha256(all));
  });

  test('writing overwrites, creates parent directories and resolves relative paths against home', 90_000, async () => {
    await bounded(sbx.files.write('/home/user/rw/over.txt', 'a much longer first version'), 'write 1');
    await bounded(sbx.files.write('/home/user/rw/over.txt', 'short'), 'write 2');
    assert.equal(await bounded(sbx.files.read('/home/user/rw/over.txt'), 'read'), 'short');
    await bounded(sbx.files.write('/home/user/rw/new/parent/dirs/f.txt', 'deep'), 'write deep');
    assert.equal((await run(sbx, 'cat /home/user/rw/new/parent/dirs/f.txt')).stdout, 'deep');
    await bounded(sbx.files.write('relative.txt', 'rel'), 'write relative');
    assert.equal((await run(sbx, 'cat /home/user/relative.txt')).stdout, 'rel');
    assert.equal(await bounded(sbx.files.read('relative.txt'), 'read relative'), 'rel');
  });

  test('writing several files at once returns one entry per file', 90_000, async () => {
    const written = await bounded(
      sbx.files.write([
        { path: '/home/user/multi/one.txt', data: 'one' },
        { path: '/home/user/multi/two/two.txt', data: 'two' },
        { path: '/home/user/multi/three.bin', data: toArrayBuffer(Uint8Array.of(0, 1, 2, 255)) },
      ]),
      'write many',
    );
    assert.deepEqual(written.map((w) => w.path).sort(), ['/home/user/multi/one.txt', '/home/user/multi/three.bin', '/home/user/multi/two/two.txt']);
    assert.equal(await bounded(sbx.files.read('/home/user/multi/one.txt'), 'read one'), 'one');
    assert.equal(await bounded(sbx.files.read('/home/user/multi/two/two.txt'), 'read two'), 'two');
    assert.deepEqual([...(await bounded(sbx.files.read('/home/user/multi/three.bin', { format: 'bytes' }), 'read three'))], [0, 1, 2, 255]);
  });

  test('a 50 MB binary upload and download are byte-identical (sha256)', 300_000, async () => {
    const data = randomBytes(50 * 1024 * 1024);
    const digest = sha256(data);
    await bounded(sbx.files.write('/home/user/big/blob.bin', toArrayBuffer(data)), 'upload 50 MB', 180_000);
    const inside = await run(sbx, 'stat -c %s /home/user/big/blob.bin && sha256sum /home/user/big/blob.bin', {}, 120_000);
    const [size, sum] = inside.stdout.split('\n');
    assert.equal(size, String(data.length));
    assert.equal(sum?.split(' ')[0], digest);
    const back = await bounded(sbx.files.read('/home/user/big/blob.bin', { format: 'bytes' }), 'download 50 MB', 180_000);
    assert.equal(back.length, data.length);
    assert.equal(sha256(back), digest);
    await bounded(sbx.files.remove('/home/user/big'), 'remove');
  });

  test('the write user decides ownership: user by default, root with user: "root"', 90_000, async () => {
    await bounded(sbx.files.write('/home/user/owners/by-user.txt', 'u'), 'write as default user');
    await bounded(sbx.files.write('/home/user/owners/by-root.txt', 'r', { user: 'root' }), 'write as root');
    await bounded(sbx.files.write('/root/ok.txt', 'root data', { user: 'root' }), 'write into /root as root');
    assert.equal((await bounded(sbx.files.getInfo('/home/user/owners/by-user.txt'), 'getInfo by-user')).owner, 'user');
    const byRoot = await bounded(sbx.files.getInfo('/home/user/owners/by-root.txt'), 'getInfo by-root');
    assert.equal(byRoot.owner, 'root');
    assert.equal(byRoot.group, 'root');
    assert.equal((await run(sbx, 'stat -c %U:%G /root/ok.txt', { user: 'root' })).stdout, 'root:root\n');
    assert.equal(await bounded(sbx.files.read('/root/ok.txt', { user: 'root' }), 'read as root'), 'root data');
  });
});

describe('entries', () => {
  test('getInfo reports type, size, name, path, owner and group "user" and a recent mtime', 90_000, async () => {
    await bounded(sbx.files.write('/home/user/meta/info.txt', 'eleven byte'), 'write');
    const info = await bounded(sbx.files.getInfo('/home/user/meta/info.txt'), 'getInfo file');
    assert.equal(info.type, 'file');
    assert.equal(info.name, 'info.txt');
    assert.equal(info.path, '/home/user/meta/info.txt');
    assert.equal(info.size, 11);
    assert.equal(info.owner, 'user');
    assert.equal(info.group, 'user');
    assert.match(info.permissions, /^-rw/);
    assert.ok(info.modifiedTime && Math.abs(info.modifiedTime.getTime() - Date.now()) < 120_000, `mtime ${info.modifiedTime?.toISOString()}`);
    const dir = await bounded(sbx.files.getInfo('/home/user/meta'), 'getInfo dir');
    assert.equal(dir.type, 'dir');
    assert.equal(dir.owner, 'user');
  });

  test('exists is true for files and directories and false for missing paths', 90_000, async () => {
    await bounded(sbx.files.write('/home/user/ex/here.txt', 'x'), 'write');
    assert.equal(await bounded(sbx.files.exists('/home/user/ex/here.txt'), 'exists file'), true);
    assert.equal(await bounded(sbx.files.exists('/home/user/ex'), 'exists dir'), true);
    assert.equal(await bounded(sbx.files.exists('/home/user/ex/missing.txt'), 'exists missing'), false);
  });

  test('list returns direct children, and deeper entries as depth grows', 90_000, async () => {
    await bounded(
      sbx.files.write([
        { path: '/home/user/tree/a.txt', data: 'a' },
        { path: '/home/user/tree/sub/b.txt', data: 'b' },
        { path: '/home/user/tree/sub/deeper/c.txt', data: 'c' },
      ]),
      'write tree',
    );
    const one = await bounded(sbx.files.list('/home/user/tree'), 'list');
    assert.deepEqual(one.map((e) => `${e.name}:${e.type}`).sort(), ['a.txt:file', 'sub:dir']);
    assert.deepEqual(one.map((e) => e.path).sort(), ['/home/user/tree/a.txt', '/home/user/tree/sub']);
    const two = await bounded(sbx.files.list('/home/user/tree', { depth: 2 }), 'list depth 2');
    assert.deepEqual(two.map((e) => e.path).sort(), ['/home/user/tree/a.txt', '/home/user/tree/sub', '/home/user/tree/sub/b.txt', '/home/user/tree/sub/deeper']);
    const three = await bounded(sbx.files.list('/home/user/tree', { depth: 3 }), 'list depth 3');
    assert.ok(three.some((e) => e.path === '/home/user/tree/sub/deeper/c.txt' && e.type === 'file' && e.size === 1));
    assert.equal(three.length, 5);
  });

  test('rename moves a file and returns the new entry', 90_000, async () => {
    await bounded(sbx.files.write('/home/user/mv/old.txt', 'moving'), 'write');
    const entry = await bounded(sbx.files.rename('/home/user/mv/old.txt', '/home/user/mv/new.txt'), 'rename');
    assert.equal(entry.path, '/home/user/mv/new.txt');
    assert.equal(entry.name, 'new.txt');
    assert.equal(await bounded(sbx.files.exists('/home/user/mv/old.txt'), 'old exists'), false);
    assert.equal(await bounded(sbx.files.read('/home/user/mv/new.txt'), 'read new'), 'moving');
    await rejection(sbx.files.rename('/home/user/mv/absent.txt', '/home/user/mv/x.txt'), CALL_MS, 'rename of a missing file');
  });

  test('remove deletes a file and a non-empty directory', 90_000, async () => {
    await bounded(sbx.files.write([{ path: '/home/user/rm/f.txt', data: 'f' }, { path: '/home/user/rm/d/g.txt', data: 'g' }]), 'write');
    await bounded(sbx.files.remove('/home/user/rm/f.txt'), 'remove file');
    assert.equal(await bounded(sbx.files.exists('/home/user/rm/f.txt'), 'exists file'), false);
    await bounded(sbx.files.remove('/home/user/rm/d'), 'remove dir');
    assert.equal(await bounded(sbx.files.exists('/home/user/rm/d'), 'exists dir'), false);
    assert.equal((await run(sbx, 'ls -A /home/user/rm')).stdout, '');
  });

  test('makeDir creates nested directories, returns false when the directory already exists', 90_000, async () => {
    assert.equal(await bounded(sbx.files.makeDir('/home/user/made/x/y'), 'makeDir'), true);
    const info = await bounded(sbx.files.getInfo('/home/user/made/x/y'), 'getInfo');
    assert.equal(info.type, 'dir');
    assert.equal(info.owner, 'user');
    assert.equal(await bounded(sbx.files.makeDir('/home/user/made/x/y'), 'makeDir again'), false);
  });

  test('missing files reject with FileNotFoundError (a NotFoundError)', 90_000, async () => {
    const readErr = await rejection(sbx.files.read('/home/user/absent/none.txt'), CALL_MS, 'read missing');
    assert.ok(readErr instanceof FileNotFoundError, `read: expected FileNotFoundError, got ${String(readErr)}`);
    assert.ok(readErr instanceof NotFoundError);
    const infoErr = await rejection(sbx.files.getInfo('/home/user/absent/none.txt'), CALL_MS, 'getInfo missing');
    assert.ok(infoErr instanceof NotFoundError, `getInfo: expected NotFoundError, got ${String(infoErr)}`);
    const listErr = await rejection(sbx.files.list('/home/user/absent'), CALL_MS, 'list missing');
    assert.ok(listErr instanceof NotFoundError, `list: expected NotFoundError, got ${String(listErr)}`);
  });
});

describe('watchDir', () => {
  test('recursive watchDir reports create and write events with paths relative to the watched directory', 90_000, async () => {
    await bounded(sbx.files.makeDir('/home/user/watched/sub'), 'makeDir');
    const events: FilesystemEvent[] = [];
    const handle = await bounded(sbx.files.watchDir('/home/user/watched', (e) => void events.push(e), { recursive: true, timeoutMs: 60_000 }), 'watchDir');
    try {
      const has = (name: string, type: string): boolean => events.some((e) => e.name === name && e.type === type);
      await bounded(sbx.files.write('/home/user/watched/top.txt', 'top'), 'write top');
      await waitFor(async () => has('top.txt', 'create') && has('top.txt', 'write'), 10_000, `create+write of top.txt (events ${JSON.stringify(events)})`);
      await bounded(sbx.files.write('/home/user/watched/sub/nested.txt', 'nested'), 'write nested');
      await waitFor(async () => has('sub/nested.txt', 'create'), 10_000, `create of sub/nested.txt (events ${JSON.stringify(events)})`);
      await bounded(sbx.files.remove('/home/user/watched/top.txt'), 'remove top');
      await waitFor(async () => has('top.txt', 'remove'), 10_000, `remove of top.txt (events ${JSON.stringify(events)})`);
    } finally {
      await bounded(handle.stop(), 'stop watch');
    }
    const count = events.length;
    await bounded(sbx.files.write('/home/user/watched/after-stop.txt', 'x'), 'write after stop');
    await sleep(1_500);
    assert.equal(events.length, count, `events after stop: ${JSON.stringify(events.slice(count))}`);
  });

  test('non-recursive watchDir does not report changes inside subdirectories', 90_000, async () => {
    await bounded(sbx.files.makeDir('/home/user/flat/sub'), 'makeDir');
    const events: FilesystemEvent[] = [];
    const handle = await bounded(sbx.files.watchDir('/home/user/flat', (e) => void events.push(e), { timeoutMs: 60_000 }), 'watchDir');
    try {
      await bounded(sbx.files.write('/home/user/flat/sub/hidden.txt', 'x'), 'write nested');
      await bounded(sbx.files.write('/home/user/flat/visible.txt', 'x'), 'write top');
      await waitFor(async () => events.some((e) => e.name === 'visible.txt'), 10_000, `event for visible.txt (events ${JSON.stringify(events)})`);
      await sleep(500);
      assert.ok(!events.some((e) => e.name.includes('hidden.txt')), `nested event reported: ${JSON.stringify(events)}`);
    } finally {
      await bounded(handle.stop(), 'stop watch');
    }
  });

  test('watchDir on a missing directory rejects with NotFoundError', 60_000, async () => {
    const err = await rejection(sbx.files.watchDir('/home/user/no-such-dir', () => undefined), CALL_MS, 'watch missing');
    assert.ok(err instanceof NotFoundError, `expected NotFoundError, got ${String(err)}`);
  });
});

describe('signed URLs', () => {
  test('downloadUrl() gives a URL plain fetch can download from', 90_000, async () => {
    await bounded(sbx.files.write('/home/user/urls/down.txt', 'downloaded by url'), 'write');
    const url = await bounded(sbx.downloadUrl('/home/user/urls/down.txt'), 'downloadUrl');
    assert.ok(url.startsWith(`${stack.sandboxUrl}/files?`), url);
    const res = await rawFetch(url);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.text, 'downloaded by url');
  });

  test('uploadUrl() gives a URL plain fetch can upload multipart data to', 90_000, async () => {
    const url = await bounded(sbx.uploadUrl('/home/user/urls/up.txt'), 'uploadUrl');
    const form = new FormData();
    form.append('file', new Blob(['uploaded by url']), 'up.txt');
    const res = await rawFetch(url, { method: 'POST', body: form });
    assert.equal(res.status, 200, res.text);
    assert.equal(await bounded(sbx.files.read('/home/user/urls/up.txt'), 'read'), 'uploaded by url');
    assert.equal((await bounded(sbx.files.getInfo('/home/user/urls/up.txt'), 'getInfo')).owner, 'user');
  });

  test('a URL with a tampered or expired signature is refused', 90_000, async () => {
    await bounded(sbx.files.write('/home/user/urls/secret.txt', 'top secret'), 'write');
    const url = new URL(await bounded(sbx.downloadUrl('/home/user/urls/secret.txt'), 'downloadUrl'));
    url.searchParams.set('signature', 'v1_' + 'A'.repeat(43));
    const tampered = await rawFetch(url.toString());
    assert.ok(tampered.status >= 400, `tampered signature got ${tampered.status}`);
    assert.ok(!tampered.text.includes('top secret'));
    const other = new URL(await bounded(sbx.downloadUrl('/home/user/urls/down.txt'), 'downloadUrl other'));
    other.searchParams.set('path', '/home/user/urls/secret.txt');
    const swapped = await rawFetch(other.toString());
    assert.ok(swapped.status >= 400, `signature of another path got ${swapped.status}`);
    const expiring = await bounded(sbx.downloadUrl('/home/user/urls/secret.txt', { useSignatureExpiration: 1 }), 'expiring url');
    await sleep(2_500);
    const expired = await rawFetch(expiring);
    assert.ok(expired.status >= 400, `expired signature got ${expired.status}`);
    assert.ok(!expired.text.includes('top secret'));
  });
});
