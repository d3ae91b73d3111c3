import { mkdir, statfs } from 'node:fs/promises';
import type { OperationOptions } from '../sandbox-runtime.js';
import { runCommand } from './host-command.js';

/**
 * The sandbox's writable layer: runsc keeps its overlay upper layer in a file inside this
 * directory (`--overlay2=root:dir=…`), and the directory is a tmpfs capped at the sandbox's disk
 * size, so a full disk is a clean ENOSPC inside the sandbox rather than host disk exhaustion.
 */
export async function mountWritableLayer(dir: string, sizeMB: number, options: OperationOptions = {}): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await runCommand('mount', ['-t', 'tmpfs', '-o', `size=${sizeMB}m,mode=0700`, 'sandboxd-layer', dir], options);
}

/** Unmounts the layer (lazily, so a dying sandbox still holding it cannot block). Idempotent. */
export async function unmountWritableLayer(dir: string, options: OperationOptions = {}): Promise<void> {
  await runCommand('umount', ['-l', dir], { ...options, okExitCodes: [0, 1, 32] });
}

/** Bytes used and total of the layer. */
export async function writableLayerUsage(dir: string): Promise<{ used: number; total: number }> {
  try {
    const stats = await statfs(dir);
    return { used: (stats.blocks - stats.bfree) * stats.bsize, total: stats.blocks * stats.bsize };
  } catch {
    return { used: 0, total: 0 };
  }
}
