/**
 * Domain entries of a network policy's `allowOut`, as E2B defines them: `example.com` matches that
 * name exactly, `*.example.com` every subdomain of it (not the apex). Case-insensitive, a trailing
 * dot ignored.
 */
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function normalizeHostname(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** Whether `entry` is a domain entry (as opposed to an IP or CIDR). */
export function isDomainEntry(entry: string): boolean {
  const name = normalizeHostname(entry).replace(/^\*\./, '');
  if (/^[\d.]+(\/\d+)?$/.test(name) || name.includes(':')) return false;
  const labels = name.split('.');
  return labels.length >= 2 && name.length <= 253 && labels.every((l) => LABEL.test(l)) && !/^\d+$/.test(labels.at(-1) ?? '');
}

export function domainMatches(hostname: string, entry: string): boolean {
  const host = normalizeHostname(hostname);
  const pattern = normalizeHostname(entry);
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1);
    return host.length > suffix.length && host.endsWith(suffix);
  }
  return host === pattern;
}

export function anyDomainMatches(hostname: string, entries: readonly string[]): boolean {
  return entries.some((entry) => domainMatches(hostname, entry));
}
