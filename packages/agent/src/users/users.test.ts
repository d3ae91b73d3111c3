import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createUserDb } from './user-db.js';
import { PathResolveError, resolveUserPath } from './resolve-path.js';

describe('user db', () => {
  it('parses passwd/group, maps ids to names and falls back to numbers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'userdb-'));
    try {
      await writeFile(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n# comment\nuser:x:1000:1000::/home/user:/bin/bash\nbroken-line\n');
      await writeFile(join(dir, 'group'), 'root:x:0:\nuser:x:1000:\nsudo:x:27:user\n');
      const db = createUserDb(dir);
      assert.deepEqual(db.lookup('user'), { name: 'user', uid: 1000, gid: 1000, home: '/home/user', shell: '/bin/bash' });
      assert.equal(db.lookup('nobody'), undefined);
      assert.equal(db.userName(1000), 'user');
      assert.equal(db.userName(4242), '4242');
      assert.equal(db.groupName(27), 'sudo');
      assert.equal(db.groupName(999), '999');
      await writeFile(join(dir, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nother:x:1001:1001::/home/other:/bin/sh\n');
      assert.equal(db.lookup('other')?.uid, 1001, 'changes to passwd are picked up');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resolveUserPath', () => {
  const user = { name: 'user', home: '/home/user' };
  it('expands ~ and resolves relative paths against home; absolute paths stay as given', () => {
    assert.equal(resolveUserPath('~', user), '/home/user');
    assert.equal(resolveUserPath('~/a/b', user), '/home/user/a/b');
    assert.equal(resolveUserPath('', user), '/home/user');
    assert.equal(resolveUserPath('x/../y', user), '/home/user/y');
    assert.equal(resolveUserPath('/etc/hosts', user), '/etc/hosts');
  });
  it('rejects ~otheruser', () => {
    assert.throws(() => resolveUserPath('~root/x', user), PathResolveError);
  });
});
