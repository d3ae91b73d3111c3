/**
 * Each sandbox gets a slot; the slot fixes its /30 subnet inside 10.213.0.0/16 and the names of
 * its network namespace and veth pair, so everything can be derived again from the address alone
 * (after a daemon restart).
 */
export const SANDBOX_NETWORK = { base: [10, 213] as const, prefix: 16, cidr: '10.213.0.0/16' };
export const MAX_SLOTS = 16_384;
/** Host-side veth names all start with this, which the firewall matches on. */
export const HOST_IFACE_PREFIX = 'sbxh';

export interface SlotAddresses {
  slot: number;
  /** Address of the host end of the veth: the sandbox's gateway. */
  hostAddress: string;
  /** Address of the sandbox (where its agent listens). */
  sandboxAddress: string;
  hostIface: string;
  sandboxIface: string;
  netns: string;
}

export function slotAddresses(slot: number): SlotAddresses {
  if (!Number.isInteger(slot) || slot < 0 || slot >= MAX_SLOTS) throw new RangeError(`slot ${slot} out of range`);
  const offset = slot * 4;
  const third = Math.floor(offset / 256);
  const fourth = offset % 256;
  const [a, b] = SANDBOX_NETWORK.base;
  return {
    slot,
    hostAddress: `${a}.${b}.${third}.${fourth + 1}`,
    sandboxAddress: `${a}.${b}.${third}.${fourth + 2}`,
    hostIface: `${HOST_IFACE_PREFIX}${slot}`,
    sandboxIface: 'eth0',
    netns: `sandboxd-${slot}`,
  };
}

/** The slot of a sandbox address, or undefined when the address is not one of ours. */
export function slotOfAddress(address: string): number | undefined {
  const parts = address.split('.').map(Number);
  const [a, b] = SANDBOX_NETWORK.base;
  if (parts.length !== 4 || parts[0] !== a || parts[1] !== b) return undefined;
  const offset = (parts[2] ?? 0) * 256 + (parts[3] ?? 0);
  if (offset % 4 !== 2) return undefined;
  return (offset - 2) / 4;
}
