import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDebianMirror } from './mmdebstrap-builder.js';
import { DEFAULT_TEMPLATE, templateHash } from './template-spec.js';

describe('template build inputs', () => {
  it('finds the Debian archive in deb822 and one-line sources, skipping the security archive', () => {
    assert.equal(parseDebianMirror('Types: deb\nURIs: http://mirror.example/debian-security\n\nURIs: http://mirror.example/debian\n'), 'http://mirror.example/debian');
    assert.equal(parseDebianMirror('deb [arch=amd64] http://ftp.de.debian.org/debian bookworm main\n'), 'http://ftp.de.debian.org/debian');
    assert.equal(parseDebianMirror('# nothing\n'), undefined);
  });

  it('hashes the spec independently of package order, and differently when packages change', () => {
    const reordered = { ...DEFAULT_TEMPLATE, packages: [...DEFAULT_TEMPLATE.packages].reverse() };
    assert.equal(templateHash(reordered), templateHash(DEFAULT_TEMPLATE));
    assert.notEqual(templateHash({ ...DEFAULT_TEMPLATE, packages: [...DEFAULT_TEMPLATE.packages, 'jq'] }), templateHash(DEFAULT_TEMPLATE));
  });
});
