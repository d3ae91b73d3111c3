import { readFile } from 'node:fs/promises';
import type { OperationOptions } from '@sandboxd/protocol';
import { HOST_IFACE_PREFIX } from './address-plan.js';
import type { FirewallHostFacts } from './egress-firewall.js';
import { runCommand } from './host-command.js';

/** IPv4 resolvers of the host (loopback stubs excluded: a sandbox cannot reach them). */
export function parseResolvers(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split('\n')) {
    const match = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (match?.[1] && !match[1].startsWith('127.')) out.push(match[1]);
  }
  return out;
}

/** Reads what the firewall needs to know about the host: its resolvers and connected subnets. */
export async function readHostFacts(options: OperationOptions = {}): Promise<FirewallHostFacts> {
  const resolvers = parseResolvers(await readFile('/etc/resolv.conf', 'utf8').catch(() => ''));
  const { stdout } = await runCommand('ip', ['-4', '-o', 'addr', 'show'], options);
  const hostSubnets: string[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\/(\d+)/.exec(line);
    if (!match?.[1] || !match[2] || match[1] === 'lo' || match[1].startsWith(HOST_IFACE_PREFIX)) continue;
    hostSubnets.push(networkOf(match[2], Number(match[3])));
  }
  return { resolvers, hostSubnets };
}

/** resolv.conf written into every sandbox. */
export function sandboxResolvConf(resolvers: string[]): string {
  const servers = resolvers.length > 0 ? resolvers : ['1.1.1.1'];
  return servers.map((s) => `nameserver ${s}`).join('\n') + '\noptions timeout:2 attempts:2\n';
}

/** `a.b.c.d/len` with the host bits cleared, as nftables wants interval elements. */
export function networkOf(address: string, prefixLength: number): string {
  const value = address.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const network = (value & mask) >>> 0;
  return `${[24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join('.')}/${prefixLength}`;
}
