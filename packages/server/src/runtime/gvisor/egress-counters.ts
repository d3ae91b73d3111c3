import type { OperationOptions } from '@sandboxd/protocol';
import { HOST_IFACE_PREFIX, type SlotAddresses } from './address-plan.js';
import { runCommand } from './host-command.js';

/**
 * A table of its own (the firewall's `sandboxd` table is left as it is) counting what each
 * sandbox sends out to the network and what the network sends into it (downloads, replies): its
 * forward chain runs after the firewall's (priority filter + 10), so only packets the firewall
 * let through reach it, and a map from the sandbox's host-side interface (in for egress, out for
 * ingress) to a named counter counts their bytes. Traffic between the daemon and the sandbox
 * (proxied requests and answers) is not forwarded and is not counted; traffic relayed by the
 * domain filter leaves from the host itself, so the filter counts both directions
 * (`onEgressRelayed` of the runtime).
 */
export const USAGE_TABLE = 'sandboxd_usage';
const MAP = 'egress_by_iface';
const INGRESS_MAP = 'ingress_by_iface';

const counterOf = (slot: number): string => `egress_${slot}`;
const ingressCounterOf = (slot: number): string => `ingress_${slot}`;

/**
 * The table, idempotent and safe to run from several daemons at once: declaring a table, map or
 * chain that exists changes nothing, and each chain's one rule is flushed and re-added in the
 * same transaction, so it is there exactly once (and a daemon that knows only the egress chain
 * leaves the ingress chain alone); counters and map elements are left as they are.
 */
export function usageTableScript(): string {
  return `
table inet ${USAGE_TABLE} {
  map ${MAP} { type ifname : counter; }
  map ${INGRESS_MAP} { type ifname : counter; }
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
  }
  chain ingress {
    type filter hook forward priority filter + 11; policy accept;
  }
}
flush chain inet ${USAGE_TABLE} forward
add rule inet ${USAGE_TABLE} forward iifname "${HOST_IFACE_PREFIX}*" counter name iifname map @${MAP}
flush chain inet ${USAGE_TABLE} ingress
add rule inet ${USAGE_TABLE} ingress oifname "${HOST_IFACE_PREFIX}*" counter name oifname map @${INGRESS_MAP}
`;
}

/** Creates the counting table or brings it to the current rule (it is shared by every daemon on the host). */
export async function ensureUsageTable(options: OperationOptions = {}): Promise<void> {
  await runCommand('nft', ['-f', '-'], { ...options, input: usageTableScript() });
}

/** Links the sandbox's interface to its two counters; `reset` (a new sandbox) starts them from zero. */
export async function linkEgressCounter(net: SlotAddresses, reset: boolean, options: OperationOptions = {}): Promise<void> {
  await runCommand('nft', ['-f', '-'], { ...options, input: `${linkCounterScript(net, reset).join('\n')}\n` });
}

/**
 * The script of {@link linkEgressCounter}, one transaction. With `reset` the counters are made
 * anew (a `reset counter` in the same batch does not see a counter the batch adds, so a leftover
 * is unlinked and deleted instead, and fresh ones are added and linked).
 */
export function linkCounterScript(net: SlotAddresses, reset: boolean): string[] {
  const names = [counterOf(net.slot), ingressCounterOf(net.slot)];
  const link = [
    ...names.map((name) => `add counter inet ${USAGE_TABLE} ${name}`),
    `add element inet ${USAGE_TABLE} ${MAP} { "${net.hostIface}" : "${names[0]}" }`,
    `add element inet ${USAGE_TABLE} ${INGRESS_MAP} { "${net.hostIface}" : "${names[1]}" }`,
  ];
  if (!reset) return link;
  const unlink = [
    `delete element inet ${USAGE_TABLE} ${MAP} { "${net.hostIface}" }`,
    `delete element inet ${USAGE_TABLE} ${INGRESS_MAP} { "${net.hostIface}" }`,
    ...names.map((name) => `delete counter inet ${USAGE_TABLE} ${name}`),
  ];
  return [...link, ...unlink, ...link];
}

/** Removes the sandbox's counters. Idempotent. */
export async function removeEgressCounter(slot: number, options: OperationOptions = {}): Promise<void> {
  const quiet = { ...options, okExitCodes: [0, 1] };
  for (const map of [MAP, INGRESS_MAP]) await runCommand('nft', ['delete', 'element', 'inet', USAGE_TABLE, map, `{ "${HOST_IFACE_PREFIX}${slot}" }`], quiet);
  for (const name of [counterOf(slot), ingressCounterOf(slot)]) await runCommand('nft', ['delete', 'counter', 'inet', USAGE_TABLE, name], quiet);
}

/** Bytes a slot's counters have seen: out of the sandbox and into it. */
export interface SlotTraffic {
  egressBytes?: number;
  ingressBytes?: number;
}

/** Bytes of every slot's counters, from `nft -j list counters` output. */
export function parseEgressCounters(json: string): Map<number, SlotTraffic> {
  const out = new Map<number, SlotTraffic>();
  const parsed = JSON.parse(json) as { nftables?: Array<{ counter?: { name?: string; table?: string; bytes?: number } }> };
  for (const item of parsed.nftables ?? []) {
    const c = item.counter;
    const m = c?.table === USAGE_TABLE ? /^(egress|ingress)_(\d+)$/.exec(c.name ?? '') : null;
    if (m === null || m === undefined || typeof c?.bytes !== 'number') continue;
    const slot = Number(m[2]);
    out.set(slot, { ...out.get(slot), [m[1] === 'egress' ? 'egressBytes' : 'ingressBytes']: c.bytes });
  }
  return out;
}

/**
 * Reads every sandbox's counters with one `nft` per `maxAgeMs` (the metrics sampler reads all
 * sandboxes at once, so a round costs one process).
 */
export function createEgressCounterReader(maxAgeMs = 1_000): (slot: number) => Promise<SlotTraffic | undefined> {
  let cached: { at: number; values: Promise<Map<number, SlotTraffic>> } | undefined;
  return async (slot) => {
    if (cached === undefined || Date.now() - cached.at > maxAgeMs) {
      const values = runCommand('nft', ['-j', 'list', 'counters', 'table', 'inet', USAGE_TABLE], { timeoutMs: 5_000, okExitCodes: [0, 1] }).then((r) =>
        r.stdout.trim() === '' ? new Map<number, SlotTraffic>() : parseEgressCounters(r.stdout),
      );
      cached = { at: Date.now(), values };
      values.catch(() => (cached = undefined));
    }
    return (await cached.values.catch(() => new Map<number, SlotTraffic>())).get(slot);
  };
}
