import type { EgressPolicy } from '../../domain/egress-policy.js';
import type { OperationOptions } from '@sandboxd/protocol';
import { HOST_IFACE_PREFIX, SANDBOX_NETWORK, type SlotAddresses } from './address-plan.js';
import { runCommand } from './host-command.js';
import { isDomainEntry } from '../../egress/domain-match.js';

/** Destinations no sandbox may ever reach (besides the host itself and other sandboxes). */
export const ALWAYS_DENIED_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '224.0.0.0/4',
  '240.0.0.0/4',
];
export const TABLE = 'sandboxd';
/** Names the base ruleset's revision (a set of that name exists in the table); bump on change. */
const RULESET_REVISION = 'revision_2';

export interface FirewallHostFacts {
  /** DNS resolvers from the host's resolv.conf: sandboxes with internet access may reach their port 53. */
  resolvers: string[];
  /** Subnets directly connected to the host (its LAN), denied like private ranges. */
  hostSubnets: string[];
}

const chainOf = (slot: number): string => `sbx_${slot}`;
/** The sandbox's nat chain: what of its HTTP/HTTPS goes to the domain filter. */
const natChainOf = (slot: number): string => `dom_${slot}`;

/** Where the daemon's domain filter (egress/domain-proxy.ts) listens on the host. */
export interface DomainRedirect {
  httpPort: number;
  tlsPort: number;
}
const set = (items: string[]): string => `{ ${items.join(', ')} }`;

/**
 * The base ruleset: a table of its own, re-created from scratch (so a restart never stacks rules).
 * Sandboxes reach nothing on the host (input hook), nothing in another sandbox, no private or
 * special range; each sandbox's own chain (jumped to through a verdict map keyed by its host-side
 * interface) decides about the rest. Egress leaves through masquerade.
 */
export function baseRuleset(facts: FirewallHostFacts): string {
  const denied = [...new Set([...ALWAYS_DENIED_V4, ...facts.hostSubnets])];
  return `
table inet ${TABLE} {
  set denied_v4 { type ipv4_addr; flags interval; auto-merge; elements = ${set(denied)} }
  ${facts.resolvers.length > 0 ? `set resolvers_v4 { type ipv4_addr; elements = ${set(facts.resolvers)} }` : 'set resolvers_v4 { type ipv4_addr; }'}
  map egress_policy { type ifname : verdict; }
  map domain_redirect { type ifname : verdict; }
  set ${RULESET_REVISION} { type ipv4_addr; }
  chain input {
    type filter hook input priority filter - 5; policy accept;
    iifname "${HOST_IFACE_PREFIX}*" ct state established,related accept
    iifname "${HOST_IFACE_PREFIX}*" ct status dnat accept
    iifname "${HOST_IFACE_PREFIX}*" drop
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "${HOST_IFACE_PREFIX}*" meta nfproto ipv4 iifname vmap @domain_redirect
  }
  chain forward {
    type filter hook forward priority filter - 5; policy accept;
    iifname "${HOST_IFACE_PREFIX}*" ct state established,related accept
    oifname "${HOST_IFACE_PREFIX}*" ct state established,related accept
    oifname "${HOST_IFACE_PREFIX}*" drop
    iifname "${HOST_IFACE_PREFIX}*" meta nfproto ipv6 drop
    iifname "${HOST_IFACE_PREFIX}*" iifname vmap @egress_policy
    iifname "${HOST_IFACE_PREFIX}*" drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${SANDBOX_NETWORK.cidr} oifname != "${HOST_IFACE_PREFIX}*" masquerade
  }
}
`;
}

/** IPv4 entries only: IPv6 from sandboxes is dropped in `forward` before any sandbox chain. */
const v4Only = (entries: string[]): string[] => entries.filter((e) => !e.includes(':') && !isDomainEntry(e));

/** The domain entries of `allowOut` (matched by Host and SNI in the daemon's domain filter). */
export const allowedDomains = (policy: EgressPolicy): string[] => policy.allowOut.filter(isDomainEntry);

/**
 * The `add rule` commands of the sandbox's nat chain: with domain entries, its connections to
 * port 80 and 443 that the filter chain would drop (an always-denied range, denyOut, no internet)
 * are redirected to the domain filter, which lets through only the allowed names. allowOut
 * addresses go direct, as everything does without domain entries.
 */
function natRules(net: SlotAddresses, policy: EgressPolicy, redirect: DomainRedirect | undefined): string[] {
  if (!redirect || allowedDomains(policy).length === 0) return [];
  const allowOut = v4Only(policy.allowOut);
  const denyOut = v4Only(policy.denyOut);
  const toFilter = [`tcp dport 80 dnat ip to ${net.hostAddress}:${redirect.httpPort}`, `tcp dport 443 dnat ip to ${net.hostAddress}:${redirect.tlsPort}`];
  const rules: string[] = [];
  if (allowOut.length > 0) rules.push(`ip daddr ${set(allowOut)} return`);
  for (const target of toFilter) rules.push(`ip daddr @denied_v4 ${target}`);
  if (policy.allowInternetAccess) {
    if (denyOut.length > 0) for (const target of toFilter) rules.push(`ip daddr ${set(denyOut)} ${target}`);
  } else {
    rules.push(...toFilter);
  }
  return rules.map((rule) => `add rule inet ${TABLE} ${natChainOf(net.slot)} ${rule}`);
}

/** Links the sandbox's interface to its chains. */
function linkScript(net: SlotAddresses): string[] {
  return [
    `add element inet ${TABLE} egress_policy { "${net.hostIface}" : jump ${chainOf(net.slot)} }`,
    `add element inet ${TABLE} domain_redirect { "${net.hostIface}" : jump ${natChainOf(net.slot)} }`,
  ];
}

/**
 * The `add rule` commands of the sandbox's own egress chain, in the order: DNS, always-denied,
 * allowOut, denyOut, default. allowOut comes before denyOut because E2B's allowed entries always
 * take precedence (`denyOut: ['0.0.0.0/0'], allowOut: ['1.1.1.1']` reaches only 1.1.1.1); the
 * always-denied ranges come before both, so no policy opens them.
 */
function chainRules(slot: number, policy: EgressPolicy): string[] {
  const chain = chainOf(slot);
  const rules: string[] = [];
  const allowOut = v4Only(policy.allowOut);
  const denyOut = v4Only(policy.denyOut);
  // DNS to the host's resolvers with internet access, and whenever names are allowed (as E2B does).
  if (policy.allowInternetAccess || allowedDomains(policy).length > 0) rules.push('meta l4proto { tcp, udp } th dport 53 ip daddr @resolvers_v4 accept');
  rules.push('ip daddr @denied_v4 drop');
  if (allowOut.length > 0) rules.push(`ip daddr ${set(allowOut)} accept`);
  if (denyOut.length > 0) rules.push(`ip daddr ${set(denyOut)} drop`);
  rules.push(policy.allowInternetAccess ? 'accept' : 'drop');
  return rules.map((rule) => `add rule inet ${TABLE} ${chain} ${rule}`);
}

/**
 * The script that swaps a running sandbox's policy in place: flush its chain, add the new rules,
 * (re-)route its interface to it. nft applies a script as one transaction, so the sandbox's
 * traffic meets the old rules or the new ones, never an empty chain, and a failed script leaves
 * the old rules. `flush` of a chain that does not exist fails: a sandbox already torn down gets
 * no chain back.
 */
export function replaceChainScript(net: SlotAddresses, policy: EgressPolicy, redirect?: DomainRedirect): string[] {
  return [
    `flush chain inet ${TABLE} ${chainOf(net.slot)}`,
    // Sandboxes started before the domain filter have no nat chain yet: add is a no-op otherwise.
    `add chain inet ${TABLE} ${natChainOf(net.slot)}`,
    `flush chain inet ${TABLE} ${natChainOf(net.slot)}`,
    ...chainRules(net.slot, policy),
    ...natRules(net, policy, redirect),
    ...linkScript(net),
  ];
}

/**
 * Installs the base ruleset unless the table exists with the current revision. The table is shared
 * by every daemon on the host, so an existing current one is left alone (its sandbox chains belong
 * to running sandboxes); an older revision is replaced.
 */
export async function ensureBaseRuleset(facts: FirewallHostFacts, options: OperationOptions = {}): Promise<void> {
  await runCommand('sysctl', ['-qw', 'net.ipv4.ip_forward=1'], options);
  const existing = await runCommand('nft', ['list', 'table', 'inet', TABLE], { ...options, okExitCodes: [0, 1] });
  if (existing.stdout.includes(RULESET_REVISION)) return;
  const reset = existing.stdout.includes(`table inet ${TABLE}`) ? `delete table inet ${TABLE}\n` : '';
  await runCommand('nft', ['-f', '-'], { ...options, input: reset + baseRuleset(facts) });
}

/** Adds the sandbox's chain and routes its interface to it, atomically. */
export async function allowSandboxEgress(net: SlotAddresses, policy: EgressPolicy, options: OperationOptions & { redirect?: DomainRedirect } = {}): Promise<void> {
  await runCommand('nft', ['-f', '-'], { ...options, input: allowChainScript(net, policy, options.redirect).join('\n') + '\n' });
}

/**
 * The script that gives a slot its chains, rules and links in one transaction (one nft process):
 * a leftover chain of the slot is flushed, not kept, and its map elements (always the same for a
 * slot) are added again, so a leftover of an earlier sandbox in the slot is replaced whole.
 */
export function allowChainScript(net: SlotAddresses, policy: EgressPolicy, redirect?: DomainRedirect): string[] {
  return [`add chain inet ${TABLE} ${chainOf(net.slot)}`, ...replaceChainScript(net, policy, redirect)];
}

/** Replaces the egress policy of a sandbox whose chain exists, atomically (see `replaceChainScript`). */
export async function replaceSandboxEgress(net: SlotAddresses, policy: EgressPolicy, options: OperationOptions & { redirect?: DomainRedirect } = {}): Promise<void> {
  await runCommand('nft', ['-f', '-'], { ...options, input: replaceChainScript(net, policy, options.redirect).join('\n') + '\n' });
}

/** Removes the sandbox's chain and map entry. Idempotent. */
export async function removeSandboxEgress(slot: number, options: OperationOptions = {}): Promise<void> {
  const iface = `${HOST_IFACE_PREFIX}${slot}`;
  await runCommand('nft', ['delete', 'element', 'inet', TABLE, 'egress_policy', `{ "${iface}" }`], { ...options, okExitCodes: [0, 1] });
  await runCommand('nft', ['delete', 'element', 'inet', TABLE, 'domain_redirect', `{ "${iface}" }`], { ...options, okExitCodes: [0, 1] });
  await runCommand('nft', ['delete', 'chain', 'inet', TABLE, chainOf(slot)], { ...options, okExitCodes: [0, 1] });
  await runCommand('nft', ['delete', 'chain', 'inet', TABLE, natChainOf(slot)], { ...options, okExitCodes: [0, 1] });
}

/** Slots that have a chain in the table (for cleaning up leftovers). */
export async function listFirewallSlots(options: OperationOptions = {}): Promise<number[]> {
  const { stdout } = await runCommand('nft', ['list', 'chains', 'inet'], { ...options, okExitCodes: [0, 1] });
  const slots: number[] = [];
  for (const match of stdout.matchAll(/chain sbx_(\d+)/g)) slots.push(Number(match[1]));
  return slots;
}
