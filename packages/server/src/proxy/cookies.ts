/**
 * `Set-Cookie` scoping of sandbox responses. A sandbox's HTTP server is reached at
 * `<port>-<sandboxId>.<domain>`; a cookie whose `Domain` attribute is wider than that host (the
 * daemon's domain, a parent of it, another sandbox's host) would be sent by browsers to every
 * other sandbox and to the daemon's own host, so such a cookie is dropped whole. A cookie without
 * `Domain` (host-only) or with `Domain` equal to the sandbox's host passes unchanged.
 */

/** The `Domain` attribute values of one `Set-Cookie` value, lower-cased, leading dot removed. */
export function cookieDomains(setCookie: string): string[] {
  const domains: string[] = [];
  for (const part of setCookie.split(';').slice(1)) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name !== 'domain') continue;
    domains.push((eq === -1 ? '' : part.slice(eq + 1)).trim().replace(/^\.+/, '').toLowerCase());
  }
  return domains;
}

/**
 * True when the cookie may pass for a sandbox served at `sandboxHost`: no `Domain` attribute,
 * or every one equal to `sandboxHost` (an empty `Domain` is ignored by browsers, so it is allowed).
 */
export function cookieAllowed(setCookie: string, sandboxHost: string): boolean {
  const host = sandboxHost.toLowerCase();
  return cookieDomains(setCookie).every((domain) => domain === '' || domain === host);
}
