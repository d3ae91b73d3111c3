import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkOf, parseResolvers, sandboxResolvConf } from './host-facts.js';

describe('host facts', () => {
  it('keeps IPv4 resolvers and drops loopback stubs', () => {
    assert.deepEqual(parseResolvers('# x\nnameserver 10.255.255.53\nnameserver 127.0.0.53\nnameserver ::1\n'), ['10.255.255.53']);
  });
  it('clears host bits of a connected subnet', () => {
    assert.equal(networkOf('192.0.2.2', 24), '192.0.2.0/24');
    assert.equal(networkOf('10.1.2.3', 8), '10.0.0.0/8');
    assert.equal(networkOf('172.17.5.9', 32), '172.17.5.9/32');
  });
  it('writes a resolv.conf naming the resolvers', () => {
    assert.match(sandboxResolvConf(['10.0.0.1']), /^nameserver 10\.0\.0\.1\n/);
  });
});
