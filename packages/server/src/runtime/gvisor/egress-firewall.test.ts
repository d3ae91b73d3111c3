import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slotAddresses } from './address-plan.js';
import { replaceChainScript, sandboxChain } from './egress-firewall.js';

const rulesOf = (script: string[]): string[] => script.slice(1).map((line) => line.replace(/^add rule inet sandboxd sbx_7 /, ''));

test('allowOut is matched before denyOut, after the always-denied ranges', () => {
  const rules = rulesOf(sandboxChain(7, { allowInternetAccess: true, allowOut: ['1.1.1.1'], denyOut: ['0.0.0.0/0'] }));
  assert.deepEqual(rules, [
    'meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept',
    'ip daddr @denied_v4 drop',
    'ip daddr { 1.1.1.1 } accept',
    'ip daddr { 0.0.0.0/0 } drop',
    'accept',
  ]);
});

test('without internet access only allowOut leaves, and DNS is not opened', () => {
  const rules = rulesOf(sandboxChain(7, { allowInternetAccess: false, allowOut: ['8.8.8.0/24'], denyOut: [] }));
  assert.deepEqual(rules, ['ip daddr @denied_v4 drop', 'ip daddr { 8.8.8.0/24 } accept', 'drop']);
});

test('IPv6 entries are left out of the IPv4 rules (IPv6 egress is dropped for every sandbox)', () => {
  const script = sandboxChain(7, { allowInternetAccess: true, allowOut: ['::1', '2001:db8::/32'], denyOut: ['fe80::/10', '9.9.9.9'] });
  assert.equal(script[0], 'add chain inet sandboxd sbx_7');
  assert.deepEqual(rulesOf(script), [
    'meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept',
    'ip daddr @denied_v4 drop',
    'ip daddr { 9.9.9.9 } drop',
    'accept',
  ]);
});

test('a policy update is one script: flush the chain, the new rules, the interface routed to it (no add chain)', () => {
  const script = replaceChainScript(slotAddresses(7), { allowInternetAccess: true, allowOut: ['1.1.1.1'], denyOut: ['0.0.0.0/0'] });
  assert.deepEqual(script, [
    'flush chain inet sandboxd sbx_7',
    'add rule inet sandboxd sbx_7 meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept',
    'add rule inet sandboxd sbx_7 ip daddr @denied_v4 drop',
    'add rule inet sandboxd sbx_7 ip daddr { 1.1.1.1 } accept',
    'add rule inet sandboxd sbx_7 ip daddr { 0.0.0.0/0 } drop',
    'add rule inet sandboxd sbx_7 accept',
    'add element inet sandboxd egress_policy { "sbxh7" : jump sbx_7 }',
  ]);
  assert.deepEqual(script.slice(1, -1), sandboxChain(7, { allowInternetAccess: true, allowOut: ['1.1.1.1'], denyOut: ['0.0.0.0/0'] }).slice(1));
});
