#!/bin/sh
# The apt archive cache template builds share: `in` links the cached .debs into the new root's
# /var/cache/apt/archives before anything is downloaded (apt then fetches only what is missing),
# `out` links what the build downloaded back into the cache. Hard links where the cache and the
# root share a file system (they do: both live in the templates directory), copies elsewhere.
# Usage: apt-cache.sh in|out <cache-dir> <root>
set -eu
direction="$1"
cache="$2"
archives="$3/var/cache/apt/archives"
mkdir -p "$cache" "$archives"
case "$direction" in
  in) from="$cache" to="$archives" ;;
  out) from="$archives" to="$cache" ;;
  *) echo "apt-cache.sh: in or out, not $direction" >&2; exit 2 ;;
esac
find "$from" -maxdepth 1 -name '*.deb' -exec sh -c 'to="$1"; shift; cp -fl "$@" "$to/" 2>/dev/null || cp -f "$@" "$to/"' sh "$to" {} +
echo "apt cache ($direction): $(find "$to" -maxdepth 1 -name '*.deb' | wc -l) packages in $to"
