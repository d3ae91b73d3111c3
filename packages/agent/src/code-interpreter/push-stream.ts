/**
 * A bounded single-consumer async queue: producers push, the HTTP edge iterates.
 *
 * The bound is a high-water mark on the summed `sizeOf` of queued items. `push` never drops an
 * item (nothing printed may be lost); it returns a promise instead when the queue is at or above
 * the mark, and a well-behaved producer awaits it before pushing more, so the queue holds at most
 * the mark plus one item. The promise also settles when the consumer goes away: `return()`
 * (the client disconnected) drops everything queued and makes later pushes no-ops.
 */
export interface PushStreamOptions<T> {
  /** Queued size at which producers are asked to wait; default 1 MiB. */
  highWaterMark?: number;
  /** Size of one item; default 1 per item. */
  sizeOf?: (item: T) => number;
}

export class PushStream<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private head = 0;
  private queued = 0;
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private readonly writers: (() => void)[] = [];
  private ended = false;
  private cancelled = false;
  private readonly highWaterMark: number;
  private readonly sizeOf: (item: T) => number;

  constructor(options: PushStreamOptions<T> = {}) {
    this.highWaterMark = options.highWaterMark ?? 1024 * 1024;
    this.sizeOf = options.sizeOf ?? (() => 1);
  }

  /** Summed size of the queued items. */
  get size(): number {
    return this.queued;
  }

  /** Queues `item`; returns a promise to await before the next push while the queue is full. */
  push(item: T): Promise<void> | undefined {
    if (this.ended) return undefined;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: item, done: false });
      return undefined;
    }
    this.items.push(item);
    this.queued += this.sizeOf(item);
    return this.writable();
  }

  /** Resolves once the queue is below the mark again, or the stream ended or was abandoned. */
  writable(): Promise<void> | undefined {
    if (this.ended || this.queued < this.highWaterMark) return undefined;
    return new Promise((resolve) => this.writers.push(resolve));
  }

  /** No more items: the consumer still gets the queued ones. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wakeWriters();
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: undefined, done: true });
    }
  }

  get closed(): boolean {
    return this.ended;
  }

  /** True when the consumer gave up (its iterator's `return()` ran). */
  get abandoned(): boolean {
    return this.cancelled;
  }

  private shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head] = undefined as T;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    this.queued -= this.sizeOf(item);
    if (this.queued < this.highWaterMark) this.wakeWriters();
    return item;
  }

  private wakeWriters(): void {
    for (const resolve of this.writers.splice(0)) resolve();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.head < this.items.length) return Promise.resolve({ value: this.shift() as T, done: false });
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => {
          this.waiting = resolve;
        });
      },
      return: () => {
        this.cancelled = true;
        this.items.length = 0;
        this.head = 0;
        this.queued = 0;
        this.end();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
