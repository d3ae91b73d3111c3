import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lookupUser, readLayered } from './layer-users.js';

const root = mkdtempSync(join(tmpdir(), 'layer-users-'));
after(() => rmSync(root, { recursive: true, force: true }));

const layer = (name: string, passwd?: string): string => {
  const dir = join(root, name);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  if (passwd !== undefined) writeFileSync(join(dir, 'etc', 'passwd'), passwd);
  return dir;
};

describe('lookupUser', () => {
  const base = layer('base', 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\n');
  const top = layer('top', 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\napp:x:1001:1001::/home/app:/bin/bash\n');
  const empty = layer('empty');

  it('reads the topmost /etc/passwd of the layers', () => {
    assert.equal(lookupUser([empty, base], 'app'), undefined);
    assert.deepEqual(lookupUser([empty, top, base], 'app'), { uid: 1001, gid: 1001, home: '/home/app' });
    assert.deepEqual(lookupUser([base], 'user'), { uid: 1000, gid: 1000, home: '/home/user' });
  });

  it('takes numeric users', () => {
    assert.deepEqual(lookupUser([base], '1000'), { uid: 1000, gid: 1000, home: '/home/user' });
    assert.deepEqual(lookupUser([base], '4242:7'), { uid: 4242, gid: 7, home: '/' });
  });

  it('does not follow a symlinked file out of the layer', () => {
    const evil = layer('evil');
    symlinkSync('/etc/passwd', join(evil, 'etc', 'passwd'));
    assert.equal(readLayered([evil, base], 'etc/passwd'), undefined);
  });
});
