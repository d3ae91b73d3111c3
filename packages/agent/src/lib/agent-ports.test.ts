import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { holdAgentPorts, isAgentPort } from './agent-ports.js';

describe('agent ports', () => {
  it('holds ports until every holder released them', () => {
    const a = holdAgentPorts([40001, 40002]);
    const b = holdAgentPorts([40002]);
    assert.ok(isAgentPort(40001) && isAgentPort(40002));
    a();
    a();
    assert.equal(isAgentPort(40001), false);
    assert.equal(isAgentPort(40002), true, 'still held by b');
    b();
    assert.equal(isAgentPort(40002), false);
  });
});
