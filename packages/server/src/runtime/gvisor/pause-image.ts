import { access, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where a sandbox's checkpoint image lives: `<sandbox dir>/image` once complete; runsc writes into
 * `image.partial` first, renamed whole when runsc has finished, so a crash never leaves a torn
 * `image` behind (a leftover `image.partial` is just deleted).
 */
export function imagePaths(sandboxDir: string) {
  return { image: join(sandboxDir, 'image'), partial: join(sandboxDir, 'image.partial') };
}

/** A fresh, empty directory for runsc to write an image into. */
export async function preparePartialImage(sandboxDir: string): Promise<string> {
  const { partial } = imagePaths(sandboxDir);
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true, mode: 0o700 });
  return partial;
}

/** Makes the written image the sandbox's image (one rename: atomic on the same filesystem). */
export async function commitImage(sandboxDir: string): Promise<void> {
  const { image, partial } = imagePaths(sandboxDir);
  await rm(image, { recursive: true, force: true });
  await rename(partial, image);
}

/** Deletes both the image and a partial one. Idempotent. */
export async function discardImages(sandboxDir: string): Promise<void> {
  const { image, partial } = imagePaths(sandboxDir);
  await rm(partial, { recursive: true, force: true });
  await rm(image, { recursive: true, force: true });
}

/** true when the sandbox has a complete image (the partial one does not count). */
export async function hasImage(sandboxDir: string): Promise<boolean> {
  return access(join(imagePaths(sandboxDir).image, 'checkpoint.img')).then(
    () => true,
    () => false,
  );
}

/**
 * runsc's refusal to save a TCP connection it cannot carry over, in one line (its own message is
 * a goroutine dump of several kB).
 */
export function summariseCheckpointError(message: string): string {
  const line = message.split('\n').find((l) => /checkpoint failed|save rejected|error/i.test(l)) ?? message.split('\n')[0] ?? message;
  const reason = /checkpoint failed: .*/.exec(line)?.[0] ?? line;
  return reason.length > 400 ? `${reason.slice(0, 400)}…` : reason;
}

/**
 * The marker of a filesystem-only pause (E2B's `keepMemory: false`): the container is gone, its
 * writable layer, slot and run directory stay, and a resume boots it again. Written after the
 * container stopped, removed once the new boot answers, so a crash in between leaves it paused.
 */
const STOPPED_MARKER = 'stopped';

export async function markStopped(sandboxDir: string): Promise<void> {
  await writeFile(join(sandboxDir, `${STOPPED_MARKER}.partial`), `${new Date().toISOString()}\n`, { mode: 0o600 });
  await rename(join(sandboxDir, `${STOPPED_MARKER}.partial`), join(sandboxDir, STOPPED_MARKER));
}

export async function clearStopped(sandboxDir: string): Promise<void> {
  await rm(join(sandboxDir, STOPPED_MARKER), { force: true });
}

/** true when the sandbox is paused without its memory (stopped, to be booted again). */
export async function isStopped(sandboxDir: string): Promise<boolean> {
  return access(join(sandboxDir, STOPPED_MARKER)).then(
    () => true,
    () => false,
  );
}
