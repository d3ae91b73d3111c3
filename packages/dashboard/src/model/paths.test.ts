import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { entryKind, entrySize, joinPath, parentPath, sortEntries } from './paths.js';

describe('file browser paths', () => {
  it('parent and join', () => {
    assert.equal(parentPath('/home/user'), '/home');
    assert.equal(parentPath('/home/user/'), '/home');
    assert.equal(parentPath('/home'), '/');
    assert.equal(parentPath('/'), '/');
    assert.equal(joinPath('/', 'etc'), '/etc');
    assert.equal(joinPath('/home/user/', 'a.txt'), '/home/user/a.txt');
  });

  it('kinds from envd types, sizes from int64 strings', () => {
    assert.equal(entryKind({ type: 'FILE_TYPE_DIRECTORY' }), 'dir');
    assert.equal(entryKind({ type: 'FILE_TYPE_FILE' }), 'file');
    assert.equal(entryKind({ type: 'FILE_TYPE_SYMLINK' }), 'symlink');
    assert.equal(entryKind({}), 'other');
    assert.equal(entrySize({ size: '1048576' }), 1048576);
    assert.equal(entrySize({ size: 3 }), 3);
    assert.equal(entrySize({}), undefined);
    assert.equal(entrySize({ size: 'x' }), undefined);
  });

  it('sorts directories first, then names case-insensitively', () => {
    const e = (name: string, type: string) => ({ name, type, path: `/${name}` });
    const sorted = sortEntries([e('b.txt', 'FILE_TYPE_FILE'), e('Zdir', 'FILE_TYPE_DIRECTORY'), e('A.txt', 'FILE_TYPE_FILE'), e('adir', 'FILE_TYPE_DIRECTORY')]);
    assert.deepEqual(sorted.map((x) => x.name), ['adir', 'Zdir', 'A.txt', 'b.txt']);
  });
});
