import { readFile } from 'node:fs/promises';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from './host-command.js';

/** Mount points of the daemon's mount namespace with whether each is read-only, from mountinfo. */
export async function readMountPoints(): Promise<Map<string, boolean>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = new Map<string, boolean>();
  for (const line of text.split('\n')) {
    // id parent major:minor root mountpoint options ...
    const fields = line.split(' ');
    if (fields.length < 6) continue;
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    const readOnly = (fields[5] ?? '').split(',').includes('ro');
    // The last mount on a path is the one that is seen: later lines win.
    points.set(mountPoint, readOnly);
  }
  return points;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Makes `path` read-only on the host kernel: a bind mount of the directory (or file) onto itself,
 * remounted read-only. Whatever serves it to a sandbox (gVisor's gofer runs as root) then gets
 * EROFS from the host for every write, whatever the sandbox's view of the mount says. Idempotent.
 */
export async function ensureReadOnlyBind(path: string, options: OperationOptions = {}): Promise<void> {
  const points = await readMountPoints();
  if (points.get(path) === true) return;
  if (!points.has(path)) await runCommand('mount', ['--bind', path, path], options);
  await runCommand('mount', ['-o', 'remount,bind,ro', path], options);
}

/** Removes every mount stacked on `path` (lazily: a dying sandbox may still hold it). Idempotent. */
export async function releaseMount(path: string, options: OperationOptions = {}): Promise<void> {
  for (let i = 0; i < 8 && (await readMountPoints()).has(path); i++) {
    await runCommand('umount', ['-l', path], { ...options, okExitCodes: [0, 1, 32] });
  }
}
