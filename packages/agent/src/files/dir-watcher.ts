import { watch } from 'node:fs';
import type { FSWatcher, Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { EventType } from '@sandboxd/protocol';

/** One filesystem change, named relative to the watched directory. */
export interface DirChange {
  name: string;
  type: EventType;
  fullPath: string;
}

export interface DirWatcher {
  close(): void;
}

interface Known {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  isDir: boolean;
}

/** How long a vanished entry waits for its inode to reappear (then it was renamed, not removed). */
const RENAME_WINDOW_MS = 25;

const snapshot = (st: Stats): Known => ({
  ino: st.ino,
  mode: st.mode,
  uid: st.uid,
  gid: st.gid,
  size: st.size,
  mtimeMs: st.mtimeMs,
  isDir: st.isDirectory(),
});

/**
 * Watches a directory (optionally its whole tree) with inotify via fs.watch and classifies the
 * coarse `rename`/`change` notifications into envd's CREATE / WRITE / REMOVE / RENAME / CHMOD by
 * comparing with what was last seen. Events are delivered in order, one at a time.
 */
export async function watchDirectory(
  root: string,
  recursive: boolean,
  onChange: (change: DirChange) => void,
  onError: (err: Error) => void,
): Promise<DirWatcher> {
  const watchers = new Map<string, FSWatcher>();
  const known = new Map<string, Known>();
  const pendingRemovals = new Map<string, { ino: number; timer: NodeJS.Timeout }>();
  let closed = false;
  let queue: Promise<void> = Promise.resolve();

  const emit = (fullPath: string, type: EventType): void => {
    if (!closed) onChange({ name: relative(root, fullPath), type, fullPath });
  };

  const stopWatching = (dir: string): void => {
    for (const [path, w] of watchers) {
      if (path === dir || path.startsWith(`${dir}/`)) {
        w.close();
        watchers.delete(path);
      }
    }
  };

  const addDir = async (dir: string): Promise<void> => {
    if (closed || watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (eventType, filename) => {
        if (filename === null || filename === undefined) return;
        const full = join(dir, filename.toString());
        queue = queue.then(() => handle(eventType, full)).catch((err: Error) => onError(err));
      });
    } catch (err) {
      if (dir === root) throw err;
      return;
    }
    w.on('error', (err) => {
      if (dir === root && !closed) onError(err);
      stopWatching(dir);
    });
    watchers.set(dir, w);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const full = join(dir, name);
      const st = await lstat(full).catch(() => undefined);
      if (!st) continue;
      known.set(full, snapshot(st));
      if (recursive && st.isDirectory()) await addDir(full);
    }
  };

  const flushRemoval = (full: string, type: EventType): void => {
    const pending = pendingRemovals.get(full);
    if (!pending) return;
    clearTimeout(pending.timer);
    pendingRemovals.delete(full);
    emit(full, type);
  };

  const handle = async (eventType: string, full: string): Promise<void> => {
    if (closed) return;
    const st = await lstat(full).catch(() => undefined);
    const before = known.get(full);
    if (eventType === 'rename') {
      if (st) {
        for (const [oldPath, pending] of pendingRemovals) {
          if (pending.ino === st.ino) flushRemoval(oldPath, EventType.RENAME);
        }
        known.set(full, snapshot(st));
        emit(full, EventType.CREATE);
        if (recursive && st.isDirectory()) await addDir(full);
        return;
      }
      known.delete(full);
      if (before?.isDir) {
        for (const path of known.keys()) if (path.startsWith(`${full}/`)) known.delete(path);
        stopWatching(full);
      }
      if (!before) {
        emit(full, EventType.REMOVE);
        return;
      }
      const timer = setTimeout(() => {
        queue = queue.then(() => flushRemoval(full, EventType.REMOVE));
      }, RENAME_WINDOW_MS);
      clearTimeout(pendingRemovals.get(full)?.timer);
      pendingRemovals.set(full, { ino: before.ino, timer });
      return;
    }
    if (!st) return;
    const now = snapshot(st);
    known.set(full, now);
    const attrsChanged = before !== undefined && (before.mode !== now.mode || before.uid !== now.uid || before.gid !== now.gid);
    const contentSame = before !== undefined && before.size === now.size && before.mtimeMs === now.mtimeMs;
    emit(full, attrsChanged && contentSame ? EventType.CHMOD : EventType.WRITE);
  };

  await addDir(root);
  return {
    close() {
      closed = true;
      for (const w of watchers.values()) w.close();
      watchers.clear();
      for (const p of pendingRemovals.values()) clearTimeout(p.timer);
      pendingRemovals.clear();
    },
  };
}
