import { isIPv4 } from 'node:net';

const toNumber = (ip: string): number => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);

/** Whether IPv4 `ip` lies in `cidr` (`a.b.c.d/n` or a single address). */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const [base = '', bits = '32'] = cidr.split('/');
  if (!isIPv4(ip) || !isIPv4(base)) return false;
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
  if (prefix === 0) return true;
  const block = 2 ** (32 - prefix);
  return Math.floor(toNumber(ip) / block) === Math.floor(toNumber(base) / block);
}

export function ipv4InAny(ip: string, cidrs: readonly string[]): boolean {
  return cidrs.some((cidr) => ipv4InCidr(ip, cidr));
}
