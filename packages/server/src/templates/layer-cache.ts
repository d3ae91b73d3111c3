import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readMountPoints, releaseMount } from '../runtime/gvisor/read-only-mount.js';
import type { BuildContext } from './build-types.js';
import { createKeyLocks } from './key-locks.js';

/** A cached step result: a filesystem layer (overlayfs upper of the step) and the context after it. */
export interface Layer {
  key: string;
  /** The layer's files; absent when the step changed no file (ENV). */
  fsDir?: string;
  /** The overlay lowers (top first) that make the state after this step, this layer's `fsDir` included. */
  stack: string[];
  context: BuildContext;
  /** An image's entrypoint (its base layer only): the template's start command unless the build sets one. */
  startCmd?: string;
  createdAt: string;
}

/**
 * Step layers on disk: `<dir>/<key>/fs` (files, overlayfs whiteouts included) and
 * `<dir>/<key>/layer.json`. A layer is written under `<key>.partial-*` and renamed when complete,
 * so a failed or interrupted step leaves nothing a later build could reuse. A builder holds a
 * key's lock from its cache lookup to the commit, so concurrent builds of one step run it once.
 */
export function createLayerCache(dir: string) {
  const metaPath = (key: string) => join(dir, key, 'layer.json');
  const locks = createKeyLocks();
  const get = (key: string): Layer | undefined => (existsSync(metaPath(key)) ? (JSON.parse(readFileSync(metaPath(key), 'utf8')) as Layer) : undefined);
  return {
    dir,
    /** Waits until no other build holds `key`; the release must be called (a `finally`). */
    lock: (key: string, options: { signal?: AbortSignal } = {}) => locks.acquire(key, options),
    /** Whether another build holds `key` now. */
    locked: (key: string) => locks.held(key),

    get,

    /** A fresh directory for a layer being built; `commit` publishes it, `discard` removes it. */
    async begin(key: string): Promise<{ fsDir: string; commit: (context: BuildContext, below: string[], empty: boolean, startCmd?: string) => Promise<Layer>; discard: () => Promise<void> }> {
      const partial = join(dir, `${key}.partial-${process.pid}-${Date.now()}`);
      await mkdir(join(partial, 'fs'), { recursive: true, mode: 0o755 });
      const discard = () => rm(partial, { recursive: true, force: true });
      return {
        fsDir: join(partial, 'fs'),
        discard,
        commit: async (context, below, empty, startCmd) => {
          const fsDir = join(dir, key, 'fs');
          const layer: Layer = {
            key,
            context,
            stack: empty ? below : [fsDir, ...below],
            createdAt: new Date().toISOString(),
            ...(empty ? {} : { fsDir }),
            ...(startCmd !== undefined ? { startCmd } : {}),
          };
          if (empty) await rm(join(partial, 'fs'), { recursive: true, force: true });
          await writeFile(join(partial, 'layer.json'), JSON.stringify(layer, null, 2));
          // A forced rebuild of a layer sandboxes have used: its files are bound read-only and may
          // still back a running sandbox, so they stay (same key, same inputs) and the new ones go.
          const existing = get(key);
          if (existing?.fsDir !== undefined && (await readMountPoints()).has(existing.fsDir)) {
            await discard();
            return existing;
          }
          await rm(join(dir, key), { recursive: true, force: true });
          await rename(partial, join(dir, key));
          return layer;
        },
      };
    },

    keys(): string[] {
      return existsSync(dir) ? readdirSync(dir).filter((name) => !name.includes('.partial-')) : [];
    },

    /** Removes a layer (its read-only bind, if a sandbox used it, first). */
    async remove(key: string): Promise<void> {
      await releaseMount(join(dir, key, 'fs')).catch(() => undefined);
      await rm(join(dir, key), { recursive: true, force: true });
    },

    /** Partial layers of builds that did not finish (a daemon that stopped mid-build). */
    async removePartials(): Promise<void> {
      if (!existsSync(dir)) return;
      for (const name of readdirSync(dir)) if (name.includes('.partial-')) await rm(join(dir, name), { recursive: true, force: true });
    },
  };
}

export type LayerCache = ReturnType<typeof createLayerCache>;
