import { spawn } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import { SANDBOX_CA_BUNDLE, SANDBOX_HOST_CAS, TEMPLATE_OWN_CA_BUNDLE } from '../runtime/sandbox-trust-paths.js';
import type { TemplateSpec } from './template-spec.js';

export interface BuildOptions extends OperationOptions {
  onProgress?: (line: string) => void;
  /** A directory of .deb files shared between builds: linked in before, updated after (template-hooks/apt-cache.sh). */
  aptCacheDir?: string;
}

// Documentation, manuals and translations are left out of the image (copyright files stay).
const LEAN_DPKG_OPTIONS = [
  'path-exclude=/usr/share/man/*',
  'path-exclude=/usr/share/doc/*',
  'path-include=/usr/share/doc/*/copyright',
  'path-exclude=/usr/share/info/*',
  'path-exclude=/usr/share/locale/*',
  'path-include=/usr/share/locale/locale.alias',
  'path-exclude=/usr/share/lintian/*',
];

/**
 * Shell steps run after the essential packages, before the rest are installed (`$1` is the root).
 * Java's postinst registers alternatives with man-page slaves: with the man pages excluded their
 * directory must exist, or update-alternatives fails and so does the whole install.
 */
export const ESSENTIAL_HOOKS = ['mkdir -p "$1/usr/share/man/man1"'];

/** Scripts of ours run on the finished tree, with its root as `$1`. */
const HOOKS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'template-hooks');

/** Shell steps run on the finished tree (`$1` is its root). */
export const CUSTOMIZE_HOOKS = [
  `sh '${join(HOOKS_DIR, 'lean-profile.sh')}' "$1"`,
  'chroot "$1" useradd --create-home --uid 1000 --shell /bin/bash --groups sudo user',
  `sh '${join(HOOKS_DIR, 'package-managers.sh')}' "$1"`,
  // The user site exists from the start, so Python processes (the code interpreter's kernel)
  // started before the first `pip install` as `user` see what it installs, without a restart;
  // ~/.local/bin is on the login PATH (Debian's ~/.profile adds it when it exists).
  'chroot "$1" runuser -u user -- env HOME=/home/user sh -c \'mkdir -p "$(python3 -m site --user-site)" "$HOME/.local/bin"\'',
  'chroot "$1" sh -c "pip --version && npm --version"',
  'echo "user ALL=(ALL:ALL) NOPASSWD: ALL" > "$1/etc/sudoers.d/user" && chmod 0440 "$1/etc/sudoers.d/user"',
  // gVisor ignores setuid bits, so sudo is the agent's client that asks its root broker.
  'chroot "$1" dpkg-divert --local --rename --add /usr/bin/sudo && ln -sf /opt/sandboxd/packages/agent/sudo/sudo "$1/usr/bin/sudo"',
  'touch "$1/etc/resolv.conf" "$1/etc/hosts" "$1/etc/hostname"',
  // Build matplotlib's font cache once (where it is installed), so the first chart in a sandbox does not pay for it.
  '[ ! -d "$1/usr/lib/python3/dist-packages/matplotlib" ] || chroot "$1" runuser -u user -- env HOME=/home/user MPLBACKEND=Agg python3 -c "import matplotlib.pyplot"',
  `sh '${join(HOOKS_DIR, 'trust-store.sh')}' "$1" '${TEMPLATE_OWN_CA_BUNDLE}' '${SANDBOX_CA_BUNDLE}' '${SANDBOX_HOST_CAS}'`,
  'rm -rf "$1/var/cache/apt" "$1/var/lib/apt/lists" "$1/var/log"/*.log "$1/tmp"/* "$1/usr/share/python-wheels"',
];

/**
 * Builds a template root filesystem with mmdebstrap from the host's Debian mirror into `target`
 * (which must not exist), streaming mmdebstrap's progress lines.
 */
export async function buildRootfs(spec: TemplateSpec, target: string, options: BuildOptions = {}): Promise<void> {
  const mirror = await hostDebianMirror();
  const cache = options.aptCacheDir;
  const cacheHook = (direction: 'in' | 'out') => `sh '${join(HOOKS_DIR, 'apt-cache.sh')}' ${direction} '${cache}' "$1"`;
  const args = [
    '--variant=apt',
    '--mode=root',
    '--format=directory',
    '--verbose',
    `--include=${spec.packages.join(',')}`,
    '--aptopt=APT::Install-Recommends "false"',
    ...LEAN_DPKG_OPTIONS.map((o) => `--dpkgopt=${o}`),
    // With a cache, the essential packages' .debs stay until the customize hooks copy them out.
    ...(cache !== undefined ? ['--skip=essential/unlink', `--setup-hook=${cacheHook('in')}`] : []),
    ...ESSENTIAL_HOOKS.map((h) => `--essential-hook=${h}`),
    ...(cache !== undefined ? [`--customize-hook=${cacheHook('out')}`] : []),
    ...CUSTOMIZE_HOOKS.map((h) => `--customize-hook=${h}`),
    spec.suite,
    target,
    mirror,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('mmdebstrap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onLine = (line: string): void => {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      options.onProgress?.(line);
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30 * 60_000);
    const onAbort = (): void => void child.kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => reject(new SandboxdError(ErrorCode.RUNTIME_FAILURE, `cannot run mmdebstrap: ${error.message}`)));
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0) resolve(createMountPoints(target));
      else reject(new SandboxdError(ErrorCode.RUNTIME_FAILURE, `template build failed (mmdebstrap exit ${code}):\n${tail.join('\n')}`));
    });
  });
}

/**
 * Where the sandbox's own mounts go. Made after mmdebstrap, whose cleanup empties /run; the root
 * is read-only on the host by the time a sandbox starts, so they must exist in the template.
 */
export const TEMPLATE_MOUNT_POINTS = ['opt/sandboxd', 'run/sandboxd', 'tmp'];

async function createMountPoints(root: string): Promise<void> {
  for (const dir of TEMPLATE_MOUNT_POINTS) await mkdir(join(root, dir), { recursive: true });
}

/** The Debian archive the host's apt uses (deb822 or one-line sources), else deb.debian.org. */
export async function hostDebianMirror(): Promise<string> {
  const sources = [
    await readFile('/etc/apt/sources.list.d/debian.sources', 'utf8').catch(() => ''),
    await readFile('/etc/apt/sources.list', 'utf8').catch(() => ''),
  ].join('\n');
  return parseDebianMirror(sources) ?? 'http://deb.debian.org/debian';
}

export function parseDebianMirror(sources: string): string | undefined {
  for (const line of sources.split('\n')) {
    const deb822 = /^URIs:\s*(\S+)/.exec(line.trim());
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line.trim());
    const uri = deb822?.[1] ?? oneLine?.[1];
    if (uri && /\/debian\/?$/.test(uri)) return uri;
  }
  return undefined;
}
