import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { wellFormedRequestId } from './request-id.js';

describe('wellFormedRequestId', () => {
  it('takes UUIDs and trace ids, refuses empty, long, spaced, joined or non-string values', () => {
    assert.equal(wellFormedRequestId('0b9f6a1e-4c1d-4d1e-9a43-2f7d2f5d7c11'), '0b9f6a1e-4c1d-4d1e-9a43-2f7d2f5d7c11');
    assert.equal(wellFormedRequestId('trace:abc.def_1'), 'trace:abc.def_1');
    for (const bad of ['', 'a'.repeat(129), 'a b', 'a, b', 'x\ny', '{"a":1}', undefined, ['a']]) assert.equal(wellFormedRequestId(bad), undefined, JSON.stringify(bad));
  });
});
