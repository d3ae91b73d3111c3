import { randomUUID } from 'node:crypto';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { watchDirectory } from './dir-watcher.js';
import type { DirChange, DirWatcher } from './dir-watcher.js';

interface Registered {
  watcher: DirWatcher;
  events: DirChange[];
  error: Error | undefined;
  includeEntry: boolean;
}

/** Non-streaming watchers (CreateWatcher / GetWatcherEvents / RemoveWatcher): events are buffered until polled. */
export class WatcherRegistry {
  private readonly watchers = new Map<string, Registered>();

  async create(path: string, recursive: boolean, includeEntry: boolean): Promise<string> {
    const id = randomUUID();
    const entry: Registered = { watcher: { close: () => undefined }, events: [], error: undefined, includeEntry };
    entry.watcher = await watchDirectory(
      path,
      recursive,
      (change) => entry.events.push(change),
      (err) => {
        entry.error = err;
      },
    );
    this.watchers.set(id, entry);
    return id;
  }

  /** Drains the events collected since the last poll. */
  take(id: string): { changes: DirChange[]; includeEntry: boolean } {
    const entry = this.lookup(id);
    if (entry.error) throw new SandboxdError(ErrorCode.INTERNAL, `watcher error: ${entry.error.message}`);
    return { changes: entry.events.splice(0), includeEntry: entry.includeEntry };
  }

  remove(id: string): void {
    this.lookup(id).watcher.close();
    this.watchers.delete(id);
  }

  closeAll(): void {
    for (const w of this.watchers.values()) w.watcher.close();
    this.watchers.clear();
  }

  private lookup(id: string): Registered {
    const entry = this.watchers.get(id);
    if (!entry) throw new SandboxdError(ErrorCode.NOT_FOUND, `watcher with id ${id} not found`);
    return entry;
  }
}
