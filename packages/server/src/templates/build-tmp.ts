import { lstat, mkdir, readdir, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../runtime/gvisor/host-command.js';

/**
 * A build step's /tmp. A sandbox's /tmp is a directory of its own disk, not part of its root
 * overlay, so what a step writes there is in no layer by itself. E2B keeps it in the template:
 * here a layer carries the build sandbox's whole /tmp, marked opaque (so files removed since are
 * gone too), whenever it differs from what the sandbox started with; every sandbox of the
 * template then starts with its own copy of it (`seedSandboxTmp` in the runtime).
 */

/** Names the builder itself puts in /tmp (COPY's staging), never part of a template. */
const STAGING = /^\.sandboxd-copy/;

/** What /tmp holds: every entry's path, type, mode, owner, size, mtime and link target, in order. */
export async function tmpSignature(dir: string): Promise<string> {
  const names = (await readdir(dir, { recursive: true }).catch(() => [] as string[])).filter((n) => !STAGING.test(n)).sort();
  const lines: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const st = await lstat(path).catch(() => undefined);
    if (st === undefined) continue;
    const target = st.isSymbolicLink() ? await readlink(path).catch(() => '') : '';
    lines.push(`${name}\0${st.mode}\0${st.uid}:${st.gid}\0${st.isDirectory() ? 0 : st.size}\0${st.mtimeMs}\0${target}`);
  }
  return lines.join('\n');
}

/** Puts the whole of `tmpDir` into the layer `layerDir` as an opaque `tmp/` (owners, modes, xattrs kept). */
export async function captureTmp(tmpDir: string, layerDir: string): Promise<void> {
  const target = join(layerDir, 'tmp');
  await rm(target, { recursive: true, force: true });
  await mkdir(target);
  await runCommand('cp', ['-a', `${tmpDir}/.`, target], { timeoutMs: 30 * 60_000 });
  for (const name of await readdir(target)) if (STAGING.test(name)) await rm(join(target, name), { recursive: true, force: true });
  // overlayfs: an opaque directory hides what the layers below have under the same path.
  await runCommand('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', target]);
}
