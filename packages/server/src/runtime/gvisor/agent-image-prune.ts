import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { OperationOptions } from '@sandboxd/protocol';
import { releaseMount } from './read-only-mount.js';

/** An image this young may be about to be used by a daemon that has just staged it. */
export const MIN_UNUSED_AGE_MS = 10 * 60_000;

/**
 * Image directories (under `imagesDir`) that some mount namespace other than ours holds mounted:
 * the gVisor gofer of every running sandbox, of every daemon on the host, binds its agent image.
 */
export function imagesInUse(imagesDir: string, procDir = '/proc'): Set<string> {
  const ours = safeReadlink(join(procDir, 'self', 'ns', 'mnt'));
  const used = new Set<string>();
  const prefix = `${imagesDir.replace(/\/$/, '')}/`;
  for (const name of safeReaddir(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    const ns = safeReadlink(join(procDir, name, 'ns', 'mnt'));
    if (ns === undefined || ns === ours) continue;
    let mountinfo: string;
    try {
      mountinfo = readFileSync(join(procDir, name, 'mountinfo'), 'utf8');
    } catch {
      continue;
    }
    for (const line of mountinfo.split('\n')) {
      // id parent major:minor root mountpoint ...: a bind of the image has it as its root.
      const root = line.split(' ')[3];
      if (root?.startsWith(prefix)) used.add(root.slice(prefix.length).split('/')[0]!);
    }
  }
  return used;
}

/**
 * Removes staged agent images no sandbox uses any more: not `keep`, mounted in no other mount
 * namespace, and older than `minAgeMs` (a daemon that staged one a moment ago may be about to
 * start a sandbox on it; a daemon whose image was pruned stages it again at its next create).
 * Returns the removed image names.
 */
export async function pruneAgentImages(
  imagesDir: string,
  keep: string,
  options: OperationOptions & { minAgeMs?: number; procDir?: string; now?: number } = {},
): Promise<string[]> {
  const inUse = imagesInUse(imagesDir, options.procDir);
  const cutoff = (options.now ?? Date.now()) - (options.minAgeMs ?? MIN_UNUSED_AGE_MS);
  const removed: string[] = [];
  for (const name of await readdir(imagesDir).catch(() => [] as string[])) {
    if (name === basename(keep) || name.includes('.partial-') || inUse.has(name)) continue;
    const path = join(imagesDir, name);
    const staged = await stat(join(path, '.complete')).catch(() => undefined);
    if (!staged || staged.mtimeMs > cutoff) continue;
    await releaseMount(path, options);
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

function safeReadlink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function safeReaddir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
