import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SLOTS, slotAddresses, slotOfAddress } from './address-plan.js';

describe('address plan', () => {
  it('gives each slot a distinct /30 and round-trips through the sandbox address', () => {
    const seen = new Set<string>();
    for (const slot of [0, 1, 63, 64, 255, 1000, MAX_SLOTS - 1]) {
      const a = slotAddresses(slot);
      assert.equal(slotOfAddress(a.sandboxAddress), slot);
      assert.ok(!seen.has(a.sandboxAddress));
      seen.add(a.sandboxAddress);
      assert.ok(a.hostIface.length <= 15, 'interface names fit IFNAMSIZ');
    }
    assert.deepEqual(slotAddresses(0), {
      slot: 0,
      hostAddress: '10.213.0.1',
      sandboxAddress: '10.213.0.2',
      hostIface: 'sbxh0',
      sandboxIface: 'eth0',
      netns: 'sandboxd-0',
    });
    assert.equal(slotAddresses(MAX_SLOTS - 1).sandboxAddress, '10.213.255.254');
  });

  it('rejects addresses that are not sandbox addresses', () => {
    assert.equal(slotOfAddress('10.213.0.1'), undefined);
    assert.equal(slotOfAddress('192.168.0.2'), undefined);
    assert.throws(() => slotAddresses(MAX_SLOTS), RangeError);
  });
});
