#!/usr/bin/env bash
# Installs everything sandboxd needs on a Debian 12 host and builds the code. Idempotent: each
# step checks first and says what it does. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
have_trixie_runsc() { command -v runsc >/dev/null && runsc --version 2>/dev/null | grep -qE 'version 0\.0~(202[4-9])'; }

if [ "$(id -u)" != 0 ]; then
  echo "sandboxd needs root (gVisor, network namespaces, nftables, cgroups): run it with sudo" >&2
  exit 1
fi

# System packages. runsc comes from Debian trixie through an apt source pinned to low priority, so
# nothing else on the host moves to trixie: bookworm's 2022 runsc lacks the systrap platform.
need_apt=()
have_trixie_runsc || need_apt+=(runsc)
for tool in mmdebstrap:mmdebstrap nft:nftables ip:iproute2 ethtool:ethtool unshare:util-linux setpriv:util-linux getfattr:attr multilog:daemontools mkfs.ext4:e2fsprogs losetup:mount make:make g++:g++ python3:python3; do
  command -v "${tool%%:*}" >/dev/null || need_apt+=("${tool#*:}")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  step "installing system packages: ${need_apt[*]}"
  if [ ! -f /etc/apt/sources.list.d/sandboxd-trixie.sources ]; then
    cat > /etc/apt/sources.list.d/sandboxd-trixie.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    mirror=$(grep -hoE '^URIs:\s*\S+/debian/?$' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1 | awk '{print $2}')
    [ -n "${mirror:-}" ] && sed -i "s#http://deb.debian.org/debian#${mirror}#" /etc/apt/sources.list.d/sandboxd-trixie.sources
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 100\n' > /etc/apt/preferences.d/sandboxd-trixie
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    $(printf '%s\n' "${need_apt[@]}" | grep -vx runsc || true)
  if printf '%s\n' "${need_apt[@]}" | grep -qx runsc; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -t trixie runsc
  fi
else
  step "system packages present (runsc $(runsc --version | head -1 | awk '{print $3}'))"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "sandboxd needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm dependencies: reinstalled when package-lock.json changed since the last install.
if [ ! -f node_modules/.sandboxd-installed ] || [ package-lock.json -nt node_modules/.sandboxd-installed ]; then
  step "installing npm dependencies"
  npm ci --no-audit --no-fund
  touch node_modules/.sandboxd-installed
else
  step "npm dependencies present"
fi

step "building (tsc -b, then the agent bundle)"
npm run build --silent
