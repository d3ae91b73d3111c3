import type { OperationOptions } from '@sandboxd/protocol';
import type { SlotAddresses } from './address-plan.js';
import { runCommand } from './host-command.js';

/**
 * MTU of the veth pair between the host and a sandbox. Every packet into gVisor is a trip through
 * its netstack, and host→sandbox TX offload is off (below), so the MTU is the segment size: at
 * 1500 a 100 MB upload is ~70,000 packets. At 65520 the daemon↔agent TCP segments are 64 KiB;
 * measured (interleaved A/B, 30 MB through the SDK, load ~50): sandbox CPU per upload 1.2–1.6 s →
 * 0.7–1.0 s, per download 0.46–0.67 s → 0.21–0.38 s. Connections beyond the host are not
 * affected: TCP sends no segment larger than the peer's MSS (1460 on a 1500-byte uplink).
 */
export const SANDBOX_LINK_MTU = 65520;

/**
 * Creates the sandbox's network namespace and the veth pair joining it to the host:
 * host end `sbxh<slot>` with the gateway address, sandbox end `eth0` with the sandbox address and a
 * default route. gVisor's netstack takes the sandbox end over when the sandbox starts.
 */
export async function createSandboxNetwork(net: SlotAddresses, options: OperationOptions = {}): Promise<void> {
  await destroySandboxNetwork(net, options);
  await runCommand('ip', ['netns', 'add', net.netns], options);
  // Two `ip -batch` processes instead of seven: each stops at the first command that fails.
  const mtu = String(SANDBOX_LINK_MTU);
  const host = [
    `link add ${net.hostIface} mtu ${mtu} type veth peer name ${net.sandboxIface} mtu ${mtu} netns ${net.netns}`,
    `addr add ${net.hostAddress}/30 dev ${net.hostIface}`,
    `link set ${net.hostIface} up`,
  ];
  const inside = [
    `addr add ${net.sandboxAddress}/30 dev ${net.sandboxIface}`,
    `link set ${net.sandboxIface} up`,
    'link set lo up',
    `route add default via ${net.hostAddress}`,
  ];
  await runCommand('ip', ['-batch', '-'], { ...options, input: `${host.join('\n')}\n` });
  await runCommand('ip', ['-n', net.netns, '-batch', '-'], { ...options, input: `${inside.join('\n')}\n` });
  // Packets the host itself sends carry partial checksums under veth TX offload; gVisor's netstack
  // drops those, so host→sandbox TCP only works with offload off on the host end.
  await runCommand('ethtool', ['-K', net.hostIface, 'tx', 'off'], options);
}

/**
 * Gives the sandbox end of the veth its address and default route again. gVisor's netstack takes
 * them over (and off the interface) when a sandbox boots, and a restore boots a new sandbox from
 * the namespace as it finds it. Idempotent.
 */
export async function readdressSandboxNetwork(net: SlotAddresses, options: OperationOptions = {}): Promise<void> {
  const ip = (...args: string[]): Promise<unknown> => runCommand('ip', args, options);
  await ip('-n', net.netns, 'addr', 'replace', `${net.sandboxAddress}/30`, 'dev', net.sandboxIface);
  await ip('-n', net.netns, 'link', 'set', net.sandboxIface, 'up');
  await ip('-n', net.netns, 'route', 'replace', 'default', 'via', net.hostAddress);
}

/**
 * Resets (RST, `ss -K`) every TCP socket of the host connected to `address`: the daemon's own
 * connections to a sandbox it is about to checkpoint. Sockets in TIME_WAIT are left alone.
 */
export async function resetHostConnections(address: string, options: OperationOptions = {}): Promise<void> {
  await runCommand('ss', ['-t', '-n', '-K', 'dst', address], options);
}

/** Removes the namespace and the veth pair. Idempotent. */
export async function destroySandboxNetwork(net: SlotAddresses, options: OperationOptions = {}): Promise<void> {
  await runCommand('ip', ['link', 'del', net.hostIface], { ...options, okExitCodes: [0, 1] });
  await runCommand('ip', ['netns', 'del', net.netns], { ...options, okExitCodes: [0, 1] });
}

/** Names of network namespaces on the host that belong to sandboxd. */
export async function listSandboxNamespaces(options: OperationOptions = {}): Promise<string[]> {
  const { stdout } = await runCommand('ip', ['netns', 'list'], options);
  return stdout
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith('sandboxd-'));
}

/** Names of host-side sandbox veths on the host. */
export async function listSandboxHostIfaces(prefix: string, options: OperationOptions = {}): Promise<string[]> {
  const { stdout } = await runCommand('ip', ['-o', 'link', 'show'], options);
  const names: string[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^\d+:\s+([^:@]+)[:@]/.exec(line);
    if (match?.[1]?.startsWith(prefix)) names.push(match[1]);
  }
  return names;
}
