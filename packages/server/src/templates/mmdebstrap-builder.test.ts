import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDebianMirror } from './mmdebstrap-builder.js';
import { SYSTEM_CA_BUNDLE } from '../runtime/sandbox-trust-paths.js';
import { DEFAULT_TEMPLATE, TRUST_ENV, templateHash } from './template-spec.js';

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

  it('leaves the environment out of the hash: it is applied per sandbox, not built', () => {
    assert.equal(templateHash({ ...DEFAULT_TEMPLATE, env: { ...DEFAULT_TEMPLATE.env, PIP_CERT: '/elsewhere.crt' } }), templateHash(DEFAULT_TEMPLATE));
  });
});

describe('the default template', () => {
  it('has pip and npm', () => {
    for (const name of ['python3-pip', 'npm']) assert.ok(DEFAULT_TEMPLATE.packages.includes(name), name);
  });

  it('points the TLS clients that keep their own CA list at the system bundle', () => {
    assert.deepEqual(DEFAULT_TEMPLATE.env, TRUST_ENV);
    const { NODE_OPTIONS, ...files } = TRUST_ENV;
    assert.equal(NODE_OPTIONS, '--use-openssl-ca');
    assert.deepEqual(Object.keys(files).sort(), ['DENO_CERT', 'PIP_CERT', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE']);
    for (const value of Object.values(files)) assert.equal(value, SYSTEM_CA_BUNDLE);
  });
});
