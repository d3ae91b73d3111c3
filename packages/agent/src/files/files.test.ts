import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { describe, it } from 'node:test';
import { parseGetfattrDump, unescapeOctal, validateMetadata } from './metadata.js';
import { goModeString } from './mode-string.js';

describe('goModeString', () => {
  it('formats modes like Go os.FileMode', () => {
    assert.equal(goModeString(constants.S_IFREG | 0o644), '-rw-r--r--');
    assert.equal(goModeString(constants.S_IFDIR | 0o755), 'drwxr-xr-x');
    assert.equal(goModeString(constants.S_IFDIR | 0o1777), 'dtrwxrwxrwx');
    assert.equal(goModeString(constants.S_IFLNK | 0o777), 'Lrwxrwxrwx');
    assert.equal(goModeString(constants.S_IFCHR | 0o666), 'Dcrw-rw-rw-');
    assert.equal(goModeString(constants.S_IFREG | 0o4755), 'urwxr-xr-x');
  });
});

describe('file metadata', () => {
  it('validates keys, values and total size', () => {
    assert.equal(validateMetadata({ a: 'b' }), undefined);
    assert.match(validateMetadata({ a: 'é' }) ?? '', /non-printable/);
    assert.match(validateMetadata({ a: 'x'.repeat(5000) }) ?? '', /exceeds 4096/);
    assert.match(validateMetadata({ ['k'.repeat(247)]: 'v' }) ?? '', /exceeds 246/);
  });

  it('parses getfattr hex dumps including escaped file names', () => {
    const dump = '# file: /tmp/a b\nuser.e2b.k=0x6869\n\n# file: /tmp/n\\012l\nuser.e2b.z=0x68656c6c6f\nuser.other=0x00\n';
    const parsed = parseGetfattrDump(dump);
    assert.deepEqual(parsed.get('/tmp/a b'), { k: 'hi' });
    assert.deepEqual(parsed.get('/tmp/n\nl'), { z: 'hello' });
    assert.equal(unescapeOctal('caf\\303\\251'), 'café');
  });
});
