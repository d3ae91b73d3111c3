#!/bin/sh
# pip and npm configuration of a template. Debian marks its Python externally managed (PEP 668);
# a sandbox is disposable and its Python is the user's, so pip installs anyway: as root into
# /usr/local/lib/python3.X/dist-packages, as `user` (who cannot write there) into the user site
# ~/.local/lib/python3.X/site-packages. Neither touches Debian's own /usr/lib/python3.
# Usage: package-managers.sh <root>
set -eu
root="$1"
cat > "$root/etc/pip.conf" <<'CONF'
# sandboxd: pip may install beside Debian's packages (see template-hooks/package-managers.sh).
[global]
break-system-packages = true
disable-pip-version-check = true

[install]
root-user-action = ignore
CONF
cat > "$root/etc/npmrc" <<'CONF'
# sandboxd: no registry round trips that only print advice.
update-notifier=false
fund=false
CONF
