import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseDebianMirror } from './mmdebstrap-builder.js';
import { SYSTEM_CA_BUNDLE } from '../runtime/sandbox-trust-paths.js';
import { BASE_TEMPLATE, BUILT_IN_TEMPLATES, CODE_INTERPRETER_TEMPLATE, TRUST_ENV, templateHash } from './template-spec.js';

describe('template build inputs', () => {
  it('finds the Debian archive in deb822 and one-line sources, skipping the security archive', () => {
    assert.equal(parseDebianMirror('Types: deb\nURIs: http://mirror.example/debian-security\n\nURIs: http://mirror.example/debian\n'), 'http://mirror.example/debian');
    assert.equal(parseDebianMirror('deb [arch=amd64] http://ftp.de.debian.org/debian bookworm main\n'), 'http://ftp.de.debian.org/debian');
    assert.equal(parseDebianMirror('# nothing\n'), undefined);
  });

  it('hashes the spec independently of package order, and differently when packages change', () => {
    const reordered = { ...CODE_INTERPRETER_TEMPLATE, packages: [...CODE_INTERPRETER_TEMPLATE.packages].reverse() };
    assert.equal(templateHash(reordered), templateHash(CODE_INTERPRETER_TEMPLATE));
    assert.notEqual(templateHash({ ...CODE_INTERPRETER_TEMPLATE, packages: [...CODE_INTERPRETER_TEMPLATE.packages, 'jq'] }), templateHash(CODE_INTERPRETER_TEMPLATE));
  });

  it('leaves the environment out of the hash: it is applied per sandbox, not built', () => {
    assert.equal(templateHash({ ...CODE_INTERPRETER_TEMPLATE, env: { ...CODE_INTERPRETER_TEMPLATE.env, PIP_CERT: '/elsewhere.crt' } }), templateHash(CODE_INTERPRETER_TEMPLATE));
  });
});

describe('the built-in templates', () => {
  it('have pip, venv and npm', () => {
    for (const spec of BUILT_IN_TEMPLATES) for (const name of ['python3-pip', 'python3-venv', 'npm']) assert.ok(spec.packages.includes(name), `${spec.name}: ${name}`);
  });

  it('keep base lean and a subset of the code interpreter, whose downloads it then shares', () => {
    assert.deepEqual(BASE_TEMPLATE.packages.filter((p) => !CODE_INTERPRETER_TEMPLATE.packages.includes(p)), []);
    assert.ok(!BASE_TEMPLATE.packages.some((p) => /ipykernel|pandas|matplotlib|r-base/.test(p)), BASE_TEMPLATE.packages.join(' '));
    assert.deepEqual(BASE_TEMPLATE.codeInterpreterAliases ?? [], []);
    assert.notEqual(templateHash(BASE_TEMPLATE), templateHash(CODE_INTERPRETER_TEMPLATE));
  });

  it('answer to disjoint names, base and code-interpreter-v1 included', () => {
    const names = BUILT_IN_TEMPLATES.flatMap((s) => s.aliases);
    assert.equal(new Set(names).size, names.length, names.join(' '));
    assert.ok(BASE_TEMPLATE.aliases.includes('base'));
    assert.ok(CODE_INTERPRETER_TEMPLATE.aliases.includes('code-interpreter-v1'));
  });

  it('point the TLS clients that keep their own CA list at the system bundle', () => {
    for (const spec of BUILT_IN_TEMPLATES) assert.deepEqual(spec.env, TRUST_ENV);
    const { NODE_OPTIONS, ...files } = TRUST_ENV;
    assert.equal(NODE_OPTIONS, '--use-openssl-ca');
    assert.deepEqual(Object.keys(files).sort(), ['DENO_CERT', 'PIP_CERT', 'REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE']);
    for (const value of Object.values(files)) assert.equal(value, SYSTEM_CA_BUNDLE);
  });
});
