import { copyFile, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/**
 * What every sandbox needs from its root filesystem, whatever image it came from: `tini` as PID 1
 * (the agent itself and its Node come from the agent image), an unprivileged `user` with a home
 * and sudo (the agent's sudo shim). The rest (Python, Node, a shell of the user's) is the image's.
 */

/** `rel` under `root`, refusing a path through a symlink (an image must not point host writes elsewhere). */
async function insideRoot(root: string, rel: string): Promise<string> {
  let path = root;
  for (const part of rel.split('/').filter(Boolean).slice(0, -1)) {
    path = join(path, part);
    const stat = await lstat(path).catch(() => undefined);
    if (stat === undefined) await mkdir(path, { mode: 0o755 });
    else if (!stat.isDirectory()) throw new SandboxdError(ErrorCode.BAD_REQUEST, `the image's /${rel} goes through a symlink or file (${path.slice(root.length)}); sandboxd cannot add its init there`);
  }
  return join(root, rel);
}

/**
 * Copies the default template's statically linked tini (Debian's `tini-static`: it runs on any
 * image's libc, older or newer than the default template's) into an image's root when it has none.
 */
export async function ensureTini(imageRoot: string, defaultRoot: string): Promise<void> {
  const target = await insideRoot(imageRoot, 'usr/bin/tini');
  if (await lstat(target).then(() => true, () => false)) return;
  await copyFile(join(defaultRoot, 'usr/bin/tini-static'), target);
}

/**
 * Run as root in the build sandbox right after an image is unpacked: creates `user` (uid 1000
 * when free) unless the image has it, gives it a home and passwordless sudo, and points
 * /usr/bin/sudo at the agent's shim (gVisor ignores setuid bits, so the image's sudo cannot work):
 * the Python one where the image has /usr/bin/python3 (it starts faster), else the one on the
 * agent's own Node.js (any glibc image),
 * and creates the working directory (`SANDBOXD_WORKDIR`, for `SANDBOXD_USER`) when the image lacks it.
 */
export const CONTRACT_SCRIPT = `set -e
if ! grep -q '^user:' /etc/passwd; then
  if command -v useradd >/dev/null 2>&1; then
    useradd --create-home --shell "$(command -v bash || echo /bin/sh)" user
  else
    uid=1000; while cut -d: -f3 /etc/passwd | grep -qx "$uid"; do uid=$((uid+1)); done
    grep -q '^user:' /etc/group || echo "user:x:$uid:" >> /etc/group
    gid=$(grep '^user:' /etc/group | cut -d: -f3)
    echo "user:x:$uid:$gid::/home/user:$(command -v bash || echo /bin/sh)" >> /etc/passwd
    mkdir -p /home/user && chown "$uid:$gid" /home/user
  fi
fi
home=$(grep '^user:' /etc/passwd | cut -d: -f6)
mkdir -p "$home" && chown "$(grep '^user:' /etc/passwd | cut -d: -f3,4)" "$home"
mkdir -p /etc/sudoers.d && echo 'user ALL=(ALL:ALL) NOPASSWD: ALL' > /etc/sudoers.d/user && chmod 0440 /etc/sudoers.d/user
mkdir -p /usr/bin
if [ -x /usr/bin/python3 ]; then ln -sf /opt/sandboxd/packages/agent/sudo/sudo /usr/bin/sudo; else ln -sf /opt/sandboxd/packages/agent/dist/sudo-shim.mjs /usr/bin/sudo; fi
# The image's WorkingDir, as a container runtime creates it, owned by the template's user.
if [ -n "$SANDBOXD_WORKDIR" ] && [ ! -d "$SANDBOXD_WORKDIR" ]; then
  mkdir -p "$SANDBOXD_WORKDIR" && chown "$SANDBOXD_USER": "$SANDBOXD_WORKDIR"
fi
`;
