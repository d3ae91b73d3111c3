import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalHeaderName } from './header-case.js';

describe('canonicalHeaderName (Go textproto.CanonicalMIMEHeaderKey)', () => {
  it('upper-cases the first letter and each letter after a hyphen, lower-cases the rest', () => {
    assert.equal(canonicalHeaderName('host'), 'Host');
    assert.equal(canonicalHeaderName('user-agent'), 'User-Agent');
    assert.equal(canonicalHeaderName('X-API-KEY'), 'X-Api-Key');
    assert.equal(canonicalHeaderName('e2b-sandbox-id'), 'E2b-Sandbox-Id');
    assert.equal(canonicalHeaderName('accept-encoding'), 'Accept-Encoding');
    assert.equal(canonicalHeaderName('x--double'), 'X--Double');
    assert.equal(canonicalHeaderName('-lead'), '-Lead');
  });
  it('leaves a name with characters outside the token set as it is', () => {
    assert.equal(canonicalHeaderName('bad header'), 'bad header');
    assert.equal(canonicalHeaderName('na:me'), 'na:me');
  });
});
