/** One resource sample of a sandbox: E2B's `SandboxMetric` fields, at a time in epoch milliseconds. */
export interface MetricsSample {
  at: number;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  memCache: number;
  diskUsed: number;
  diskTotal: number;
}

const FIELDS = ['at', 'cpuCount', 'cpuUsedPct', 'memUsed', 'memTotal', 'memCache', 'diskUsed', 'diskTotal'] as const;
const WIDTH = FIELDS.length;
/** Bytes one stored sample takes (eight float64s). */
export const SAMPLE_BYTES = WIDTH * Float64Array.BYTES_PER_ELEMENT;
const INITIAL_SLOTS = 64;

/**
 * The samples of one sandbox, oldest first, at most `capacity` of them: when full, each new sample
 * replaces the oldest. Stored flat in one Float64Array (64 bytes a sample) that grows by doubling
 * up to the capacity, so a short-lived sandbox costs 4 KiB and none ever more than
 * `capacity × 64` bytes. Samples must come in time order; one older than the newest is dropped.
 */
export class MetricsHistory {
  readonly capacity: number;
  private data: Float64Array;
  /** Index (in samples) of the oldest sample. */
  private head = 0;
  private count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.data = new Float64Array(Math.min(capacity, INITIAL_SLOTS) * WIDTH);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held for the samples (what the history costs in memory). */
  get bytes(): number {
    return this.data.byteLength;
  }

  /** Appends a sample; false (nothing stored) when it is older than the newest one. */
  push(sample: MetricsSample): boolean {
    const newest = this.latest();
    if (newest !== undefined && sample.at < newest.at) return false;
    if (this.count === this.slots() && this.count < this.capacity) this.grow();
    let slot: number;
    if (this.count < this.slots()) {
      slot = (this.head + this.count) % this.slots();
      this.count++;
    } else {
      slot = this.head;
      this.head = (this.head + 1) % this.slots();
    }
    const base = slot * WIDTH;
    for (let f = 0; f < WIDTH; f++) this.data[base + f] = sample[FIELDS[f]!];
    return true;
  }

  latest(): MetricsSample | undefined {
    return this.count === 0 ? undefined : this.at(this.count - 1);
  }

  oldest(): MetricsSample | undefined {
    return this.count === 0 ? undefined : this.at(0);
  }

  /** The samples with `startMs <= at <= endMs`, oldest first. */
  range(startMs: number, endMs: number): MetricsSample[] {
    const out: MetricsSample[] = [];
    for (let i = this.firstAtOrAfter(startMs); i < this.count; i++) {
      const sample = this.at(i);
      if (sample.at > endMs) break;
      out.push(sample);
    }
    return out;
  }

  /** The i-th sample, 0 being the oldest. */
  private at(i: number): MetricsSample {
    const base = ((this.head + i) % this.slots()) * WIDTH;
    const d = this.data;
    return {
      at: d[base]!,
      cpuCount: d[base + 1]!,
      cpuUsedPct: d[base + 2]!,
      memUsed: d[base + 3]!,
      memTotal: d[base + 4]!,
      memCache: d[base + 5]!,
      diskUsed: d[base + 6]!,
      diskTotal: d[base + 7]!,
    };
  }

  /** Binary search: the index of the first sample at or after `ms` (`count` when none). */
  private firstAtOrAfter(ms: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[((this.head + mid) % this.slots()) * WIDTH]! < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private slots(): number {
    return this.data.length / WIDTH;
  }

  /** Doubles the storage (up to the capacity), unrolling the ring so the oldest sample is first. */
  private grow(): void {
    const next = new Float64Array(Math.min(this.capacity, this.slots() * 2) * WIDTH);
    for (let i = 0; i < this.count; i++) {
      const from = ((this.head + i) % this.slots()) * WIDTH;
      next.set(this.data.subarray(from, from + WIDTH), i * WIDTH);
    }
    this.data = next;
    this.head = 0;
  }
}
