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

  it('hashes the environment too: a changed variable builds a new template', () => {
    assert.notEqual(templateHash({ ...DEFAULT_TEMPLATE, env: { ...DEFAULT_TEMPLATE.env, PIP_CERT: '/elsewhere.crt' } }), templateHash(DEFAULT_TEMPLATE));
    const reordered = Object.fromEntries(Object.entries(DEFAULT_TEMPLATE.env).reverse());
    assert.equal(templateHash({ ...DEFAULT_TEMPLATE, env: reordered }), templateHash(DEFAULT_TEMPLATE));
  });
});

describe('the default template', () => {
  it('has pip and npm', () => {
    for (const name of ['python3-pip', 'npm']) assert.ok(DEFAULT_TEMPLATE.packages.includes(name), name);
  });

  it('points the TLS clients that keep their own CA list at the system bundle', () => {
    assert.deepEqual(DEFAULT_TEMPLATE.env, TRUST_ENV);
    assert.deepEqual(Object.keys(TRUST_ENV).sort(), ['DENO_CERT', 'NODE_EXTRA_CA_CERTS', 'PIP_CERT', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE']);
    for (const value of Object.values(TRUST_ENV)) assert.equal(value, SYSTEM_CA_BUNDLE);
  });
});
