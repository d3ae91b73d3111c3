import type { OperationOptions } from '@sandboxd/protocol';
import { HOST_IFACE_PREFIX, type SlotAddresses } from './address-plan.js';
import { runCommand } from './host-command.js';

/**
 * A table of its own (the firewall's `sandboxd` table is left as it is) counting what each
 * sandbox sends out to the network: its forward chain runs after the firewall's (priority filter
 * + 10), so only packets the egress policy let through reach it, and a map from the sandbox's
 * host-side interface to a named counter counts their bytes. Traffic to the daemon (proxy
 * answers) is not forwarded and is not counted; traffic relayed by the domain filter leaves from
 * the host itself, so the filter counts it (`onEgressRelayed` of the runtime).
 */
export const USAGE_TABLE = 'sandboxd_usage';
const MAP = 'egress_by_iface';

const counterOf = (slot: number): string => `egress_${slot}`;

/**
 * The table, idempotent and safe to run from several daemons at once: declaring a table, map or
 * chain that exists changes nothing, and the chain's one rule is flushed and re-added in the same
 * transaction, so it is there exactly once; counters and map elements are left as they are.
 */
export function usageTableScript(): string {
  return `
table inet ${USAGE_TABLE} {
  map ${MAP} { type ifname : counter; }
  chain forward {
    type filter hook forward priority filter + 10; policy accept;
  }
}
flush chain inet ${USAGE_TABLE} forward
add rule inet ${USAGE_TABLE} forward iifname "${HOST_IFACE_PREFIX}*" counter name iifname map @${MAP}
`;
}

/** Creates the counting table or brings it to the current rule (it is shared by every daemon on the host). */
export async function ensureUsageTable(options: OperationOptions = {}): Promise<void> {
  await runCommand('nft', ['-f', '-'], { ...options, input: usageTableScript() });
}

/** Links the sandbox's interface to its counter; `reset` (a new sandbox) starts it from zero. */
export async function linkEgressCounter(net: SlotAddresses, reset: boolean, options: OperationOptions = {}): Promise<void> {
  const name = counterOf(net.slot);
  const script = [`add counter inet ${USAGE_TABLE} ${name}`, `add element inet ${USAGE_TABLE} ${MAP} { "${net.hostIface}" : "${name}" }`];
  await runCommand('nft', ['-f', '-'], { ...options, input: `${script.join('\n')}\n` });
  // Not in the same batch: a reset does not see a counter the batch adds.
  if (reset) await runCommand('nft', ['reset', 'counter', 'inet', USAGE_TABLE, name], options);
}

/** Removes the sandbox's counter. Idempotent. */
export async function removeEgressCounter(slot: number, options: OperationOptions = {}): Promise<void> {
  await runCommand('nft', ['delete', 'element', 'inet', USAGE_TABLE, MAP, `{ "${HOST_IFACE_PREFIX}${slot}" }`], { ...options, okExitCodes: [0, 1] });
  await runCommand('nft', ['delete', 'counter', 'inet', USAGE_TABLE, counterOf(slot)], { ...options, okExitCodes: [0, 1] });
}

/** Bytes of every slot's counter, from `nft -j list counters` output. */
export function parseEgressCounters(json: string): Map<number, number> {
  const out = new Map<number, number>();
  const parsed = JSON.parse(json) as { nftables?: Array<{ counter?: { name?: string; table?: string; bytes?: number } }> };
  for (const item of parsed.nftables ?? []) {
    const c = item.counter;
    const slot = c?.table === USAGE_TABLE ? /^egress_(\d+)$/.exec(c.name ?? '')?.[1] : undefined;
    if (slot !== undefined && typeof c?.bytes === 'number') out.set(Number(slot), c.bytes);
  }
  return out;
}

/**
 * Reads every sandbox's egress counter with one `nft` per `maxAgeMs` (the metrics sampler reads
 * all sandboxes at once, so a round costs one process).
 */
export function createEgressCounterReader(maxAgeMs = 1_000): (slot: number) => Promise<number | undefined> {
  let cached: { at: number; values: Promise<Map<number, number>> } | undefined;
  return async (slot) => {
    if (cached === undefined || Date.now() - cached.at > maxAgeMs) {
      const values = runCommand('nft', ['-j', 'list', 'counters', 'table', 'inet', USAGE_TABLE], { timeoutMs: 5_000, okExitCodes: [0, 1] }).then((r) =>
        r.stdout.trim() === '' ? new Map<number, number>() : parseEgressCounters(r.stdout),
      );
      cached = { at: Date.now(), values };
      values.catch(() => (cached = undefined));
    }
    return (await cached.values.catch(() => new Map<number, number>())).get(slot);
  };
}
