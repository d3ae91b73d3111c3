import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { USAGE_TABLE, linkCounterScript, parseEgressCounters, usageTableScript } from './egress-counters.js';
import { slotAddresses } from './address-plan.js';

describe('egress counters', () => {
  it('reads the bytes of each slot counter of the usage table only', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { counter: { family: 'inet', name: 'egress_3', table: USAGE_TABLE, packets: 4, bytes: 1234 } },
        { counter: { family: 'inet', name: 'egress_17', table: USAGE_TABLE, packets: 0, bytes: 0 } },
        { counter: { family: 'inet', name: 'ingress_3', table: USAGE_TABLE, packets: 9, bytes: 98765 } },
        { counter: { family: 'inet', name: 'egress_5', table: 'other', packets: 1, bytes: 99 } },
        { counter: { family: 'inet', name: 'other_5', table: USAGE_TABLE, packets: 1, bytes: 99 } },
      ],
    });
    assert.deepEqual([...parseEgressCounters(json)], [[3, { egressBytes: 1234, ingressBytes: 98765 }], [17, { egressBytes: 0 }]]);
  });

  it('counts in a forward chain after the firewall (only accepted packets), keyed by the host interface: in for egress, out for ingress', () => {
    const script = usageTableScript();
    assert.match(script, /priority filter \+ 10; policy accept;/);
    assert.match(script, /flush chain inet sandboxd_usage forward\nadd rule inet sandboxd_usage forward iifname "sbxh\*" counter name iifname map @egress_by_iface/);
    assert.match(script, /flush chain inet sandboxd_usage ingress\nadd rule inet sandboxd_usage ingress oifname "sbxh\*" counter name oifname map @ingress_by_iface/);
    assert.equal(script.match(/counter name/g)?.length, 2);
  });

  it('a new sandbox gets fresh counters in one script: a leftover is unlinked and deleted before they are added again', () => {
    const net = slotAddresses(4);
    const adopt = linkCounterScript(net, false);
    assert.equal(adopt.filter((l) => l.startsWith('delete')).length, 0, 'an adopted sandbox keeps its counts');
    const fresh = linkCounterScript(net, true);
    const firstDelete = fresh.findIndex((l) => l.startsWith('delete'));
    assert.deepEqual(fresh.slice(0, firstDelete), adopt, 'ensured first, so that the deletes always find something');
    assert.deepEqual(fresh.slice(firstDelete, firstDelete + 2).map((l) => l.split(' ')[1]), ['element', 'element'], 'unlinked before the counters go');
    assert.deepEqual(fresh.slice(firstDelete + 4), adopt);
  });
});
