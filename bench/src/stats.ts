/** Median of a list of numbers (ms or whatever unit the caller uses). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Runs `fn` `runs` times after `warmup` unrecorded runs; returns each run's duration in ms. */
export async function timeRuns(runs: number, fn: () => Promise<unknown>, warmup = 1): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    out.push(performance.now() - started);
  }
  return out;
}

export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baselineName: string;
  baseline: number;
}

/** Markdown table with each figure beside its same-run baseline and their ratio. */
export function toMarkdown(rows: BenchRow[]): string {
  const lines = ['| measurement | sandboxd | baseline (same run) | ratio |', '|---|---|---|---|'];
  for (const r of rows) {
    const ratio = r.baseline > 0 ? `${(r.value / r.baseline).toFixed(2)}×` : 'n/a';
    lines.push(`| ${r.name} | ${r.value.toFixed(1)} ${r.unit} | ${r.baselineName}: ${r.baseline.toFixed(1)} ${r.unit} | ${ratio} |`);
  }
  return lines.join('\n');
}

/** The p-th percentile (0..100, nearest rank) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? 0;
}
