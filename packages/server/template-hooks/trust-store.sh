#!/bin/sh
# Points a template's system CA bundle at the bundle the daemon writes for each sandbox, so every
# TLS client inside trusts what the host trusts at the sandbox's creation (host-trust.ts).
# Usage: trust-store.sh <root> <own-bundle> <sandbox-bundle> <host-cas>
#   <own-bundle>      where the template's own bundle is kept (the daemon merges it in)
#   <sandbox-bundle>  the per-sandbox bundle (/run/sandboxd/…), the target of the system bundle
#   <host-cas>        the host's CAs alone (/run/sandboxd/…), a local CA of the sandbox's own
#                     update-ca-certificates, which thus keeps them when it rebuilds the bundle
set -eu
root="$1" own="$2" sandbox_bundle="$3" host_cas="$4"
system="$root/etc/ssl/certs/ca-certificates.crt"
if [ -L "$system" ] || [ ! -s "$system" ]; then
  echo "trust-store: $system is not the bundle ca-certificates built" >&2
  exit 1
fi
mkdir -p "$root${own%/*}"
mv "$system" "$root$own"
ln -s "$sandbox_bundle" "$system"
mkdir -p "$root/usr/local/share/ca-certificates"
ln -sfn "$host_cas" "$root/usr/local/share/ca-certificates/sandboxd-host.crt"
