/**
 * Header names as E2B's proxy writes them to a sandbox port. E2B's proxy is Go's, and Go keeps
 * request headers under their canonical MIME names (`textproto.CanonicalMIMEHeaderKey`: the first
 * letter and every letter after a hyphen upper case, the rest lower case; a name with a character
 * outside the token set, or a space, stays as it is), so a server in the sandbox sees `Host:` and
 * `User-Agent:`. Node's client writes the names it is given, and the names of a parsed request
 * are lower case: without this, a program that prints what it received sees `host:`.
 */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function canonicalHeaderName(name: string): string {
  if (!TOKEN.test(name)) return name;
  let out = '';
  let upper = true;
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
}
