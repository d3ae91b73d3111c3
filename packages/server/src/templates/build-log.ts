import type { BuildLogEntry } from './build-types.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * A build's log: entries in order, read from an offset as E2B's status route does (`logsOffset`
 * counts the entries already returned; at most `limit`, default 100, per call; `level` keeps that
 * level and above). Appending never changes what an offset refers to.
 */
export class BuildLog {
  readonly entries: BuildLogEntry[] = [];
  private readonly listeners = new Set<(entry: BuildLogEntry) => void>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  add(level: BuildLogEntry['level'], message: string, step?: string): void {
    const entry: BuildLogEntry = { timestamp: this.now().toISOString(), level, message, ...(step !== undefined ? { step } : {}) };
    this.entries.push(entry);
    for (const listener of this.listeners) listener(entry);
  }

  /** The entries from `offset`, filtered by level before the offset applies. */
  read(offset = 0, limit = 100, level?: BuildLogEntry['level']): BuildLogEntry[] {
    const min = level === undefined ? 0 : LEVELS.indexOf(level);
    const kept = min === 0 ? this.entries : this.entries.filter((e) => LEVELS.indexOf(e.level) >= min);
    return kept.slice(Math.max(0, offset), Math.max(0, offset) + Math.max(0, Math.min(limit, 100)));
  }

  /** The last `count` entries of a step: the output a failure reports. */
  tail(step: string, count = 20): BuildLogEntry[] {
    return this.entries.filter((e) => e.step === step).slice(-count);
  }

  onEntry(listener: (entry: BuildLogEntry) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
