import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { presentedApiKey } from './auth.js';

describe('presentedApiKey', () => {
  it('reads X-API-KEY first, then Authorization: Bearer (any case)', () => {
    assert.equal(presentedApiKey(new Headers({ 'x-api-key': 'k1', authorization: 'Bearer k2' })), 'k1');
    assert.equal(presentedApiKey(new Headers({ authorization: 'Bearer k2' })), 'k2');
    assert.equal(presentedApiKey(new Headers({ authorization: 'bearer   k3 ' })), 'k3');
  });

  it('is undefined for no key or another scheme', () => {
    assert.equal(presentedApiKey(new Headers()), undefined);
    assert.equal(presentedApiKey(new Headers({ authorization: 'Basic dXNlcjpwYXNz' })), undefined);
    assert.equal(presentedApiKey(new Headers({ authorization: 'Bearer' })), undefined);
    assert.equal(presentedApiKey(new Headers({ authorization: 'Bearer a b' })), undefined);
  });
});
