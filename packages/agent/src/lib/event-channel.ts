/** Result of waiting on an EventChannel. */
export type TakeResult<T> = { kind: 'item'; item: T } | { kind: 'idle' } | { kind: 'closed' };

export interface EventChannelOptions {
  /** Called after every take; the owner uses it to resume a paused producer. */
  onTake?: () => void;
}

/**
 * Unbounded single-consumer queue with close, abort and an idle timeout: the one primitive the
 * agent's streams (process output, directory watches) are built on.
 */
export class EventChannel<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(private readonly options: EventChannelOptions = {}) {}

  get size(): number {
    return this.items.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  push(item: T): void {
    if (this.closed) return;
    this.items.push(item);
    this.notify();
  }

  /** No more items will come; queued items are still delivered. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  /**
   * Next item, `idle` when nothing arrived within `idleMs`, or `closed` once drained after close.
   * Rejects with `signal.reason` when the signal aborts.
   */
  async take(options: { signal?: AbortSignal | undefined; idleMs?: number | undefined } = {}): Promise<TakeResult<T>> {
    const { signal, idleMs } = options;
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      if (this.items.length > 0) {
        const item = this.items.shift() as T;
        this.options.onTake?.();
        return { kind: 'item', item };
      }
      if (this.closed) return { kind: 'closed' };
      const outcome = await this.waitOnce(signal, idleMs);
      if (outcome === 'idle') return { kind: 'idle' };
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private waitOnce(signal: AbortSignal | undefined, idleMs: number | undefined): Promise<'woken' | 'idle'> {
    return new Promise<'woken' | 'idle'>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        cleanup();
        reject(signal?.reason);
      };
      const cleanup = (): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
      };
      this.wake = () => {
        cleanup();
        resolve('woken');
      };
      if (idleMs !== undefined && idleMs > 0) {
        timer = setTimeout(() => {
          cleanup();
          resolve('idle');
        }, idleMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
