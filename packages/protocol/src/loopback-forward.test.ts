import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoopbackForward, parseLoopbackTarget } from './loopback-forward.js';

describe('loopback forward contract', () => {
  it('round-trips a port through the CONNECT target', () => {
    assert.equal(parseLoopbackTarget(LoopbackForward.target(8000)), 8000);
    assert.equal(parseLoopbackTarget('localhost:65535'), 65535);
  });

  it('accepts nothing but localhost:<port in 1..65535>', () => {
    for (const bad of [undefined, '', 'localhost', 'localhost:0', 'localhost:65536', 'localhost:80x', '127.0.0.1:80', '10.0.0.1:80', 'example.com:443', 'localhost:80/x', ' localhost:80']) {
      assert.equal(parseLoopbackTarget(bad), undefined, String(bad));
    }
  });
});
