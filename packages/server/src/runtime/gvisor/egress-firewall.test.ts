import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slotAddresses } from './address-plan.js';
import { allowChainScript, allowedDomains, baseRuleset, replaceChainScript } from './egress-firewall.js';

const net = slotAddresses(7);
const filterRules = (script: string[]): string[] =>
  script.filter((l) => l.startsWith('add rule inet sandboxd sbx_7 ')).map((line) => line.replace(/^add rule inet sandboxd sbx_7 /, ''));
const natRules = (script: string[]): string[] =>
  script.filter((l) => l.startsWith('add rule inet sandboxd dom_7 ')).map((line) => line.replace(/^add rule inet sandboxd dom_7 /, ''));
const redirect = { httpPort: 41080, tlsPort: 41443 };

test('allowOut is matched before denyOut, after the always-denied ranges', () => {
  const script = allowChainScript(net, { allowInternetAccess: true, allowOut: ['1.1.1.1'], denyOut: ['0.0.0.0/0'] });
  assert.equal(script[0], 'add chain inet sandboxd sbx_7');
  assert.ok(script.includes('add chain inet sandboxd dom_7'));
  assert.deepEqual(filterRules(script), [
    'meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept',
    'ip daddr @denied_v4 drop',
    'ip daddr { 1.1.1.1 } accept',
    'ip daddr { 0.0.0.0/0 } drop',
    'accept',
  ]);
  assert.deepEqual(natRules(script), [], 'no domain entries: nothing is redirected');
});

test('without internet access only allowOut leaves, and DNS is not opened', () => {
  const rules = filterRules(allowChainScript(net, { allowInternetAccess: false, allowOut: ['8.8.8.0/24'], denyOut: [] }));
  assert.deepEqual(rules, ['ip daddr @denied_v4 drop', 'ip daddr { 8.8.8.0/24 } accept', 'drop']);
});

test('IPv6 entries are left out of the IPv4 rules (IPv6 egress is dropped for every sandbox)', () => {
  const script = allowChainScript(net, { allowInternetAccess: true, allowOut: ['::1', '2001:db8::/32'], denyOut: ['fe80::/10', '9.9.9.9'] });
  assert.deepEqual(filterRules(script), [
    'meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept',
    'ip daddr @denied_v4 drop',
    'ip daddr { 9.9.9.9 } drop',
    'accept',
  ]);
});

test('domain entries: left out of the IP rules, DNS opened, HTTP/HTTPS that would be dropped goes to the domain filter', () => {
  const policy = { allowInternetAccess: true, allowOut: ['pypi.org', '*.pythonhosted.org', '1.1.1.1'], denyOut: ['0.0.0.0/0'] };
  assert.deepEqual(allowedDomains(policy), ['pypi.org', '*.pythonhosted.org']);
  const script = allowChainScript(net, policy, redirect);
  assert.deepEqual(filterRules(script), [
    'meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept',
    'ip daddr @denied_v4 drop',
    'ip daddr { 1.1.1.1 } accept',
    'ip daddr { 0.0.0.0/0 } drop',
    'accept',
  ]);
  assert.deepEqual(natRules(script), [
    'ip daddr { 1.1.1.1 } return',
    `ip daddr @denied_v4 tcp dport 80 dnat ip to ${net.hostAddress}:41080`,
    `ip daddr @denied_v4 tcp dport 443 dnat ip to ${net.hostAddress}:41443`,
    `ip daddr { 0.0.0.0/0 } tcp dport 80 dnat ip to ${net.hostAddress}:41080`,
    `ip daddr { 0.0.0.0/0 } tcp dport 443 dnat ip to ${net.hostAddress}:41443`,
  ]);
  const offline = allowChainScript(net, { allowInternetAccess: false, allowOut: ['pypi.org'], denyOut: [] }, redirect);
  assert.equal(filterRules(offline)[0], 'meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept', 'names need DNS');
  assert.deepEqual(natRules(offline).slice(-2), [`tcp dport 80 dnat ip to ${net.hostAddress}:41080`, `tcp dport 443 dnat ip to ${net.hostAddress}:41443`]);
});

test('a policy update is one script: flush both chains, the new rules, the interface routed to them', () => {
  const policy = { allowInternetAccess: true, allowOut: ['1.1.1.1'], denyOut: ['0.0.0.0/0'] };
  const script = replaceChainScript(net, policy, redirect);
  assert.equal(script[0], 'flush chain inet sandboxd sbx_7', 'a missing chain fails the script: a torn-down sandbox gets none back');
  assert.ok(script.includes('flush chain inet sandboxd dom_7'));
  assert.deepEqual(filterRules(script), filterRules(allowChainScript(net, policy, redirect)));
  assert.deepEqual(script.slice(-2), [
    'add element inet sandboxd egress_policy { "sbxh7" : jump sbx_7 }',
    'add element inet sandboxd domain_redirect { "sbxh7" : jump dom_7 }',
  ]);
});

test('the base ruleset lets redirected connections reach the domain filter and nothing else on the host', () => {
  const ruleset = baseRuleset({ resolvers: ['192.0.2.53'], hostSubnets: ['192.0.2.0/24'] });
  const input = ruleset.slice(ruleset.indexOf('chain input'), ruleset.indexOf('chain prerouting'));
  assert.match(input, /ct status dnat accept\n\s+iifname "sbxh\*" drop/);
  assert.match(ruleset, /type nat hook prerouting priority dstnat[\s\S]*vmap @domain_redirect/);
});

test('a slot gets its chains, rules and links in one script that replaces a leftover of the slot', () => {
  const script = allowChainScript(slotAddresses(3), { allowInternetAccess: true, allowOut: [], denyOut: [] });
  assert.equal(script[0], 'add chain inet sandboxd sbx_3');
  assert.equal(script[1], 'flush chain inet sandboxd sbx_3', 'a leftover chain of the slot is emptied, not kept');
  assert.ok(script.includes('flush chain inet sandboxd dom_3'));
  assert.ok(script.some((l) => /^add element inet sandboxd egress_policy \{ "[a-z]+3" : jump sbx_3 \}$/.test(l)), script.join('\n'));
});
