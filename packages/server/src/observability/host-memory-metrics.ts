import { readFileSync } from 'node:fs';
import { Gauge } from 'prom-client';
import type { Registry } from 'prom-client';

/** The /proc/meminfo fields exported, by label. */
const FIELDS = { total: 'MemTotal', available: 'MemAvailable', committed: 'Committed_AS' } as const;

/** Bytes of the /proc/meminfo fields in `text` that are present. */
export function parseMeminfo(text: string): Partial<Record<keyof typeof FIELDS, number>> {
  const out: Partial<Record<keyof typeof FIELDS, number>> = {};
  for (const [label, field] of Object.entries(FIELDS) as Array<[keyof typeof FIELDS, string]>) {
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1];
    if (kib !== undefined) out[label] = Number(kib) * 1024;
  }
  return out;
}

/**
 * `sandboxd_host_memory_bytes{kind}` (total, available, committed: the kernel's Committed_AS),
 * read at scrape time, and `sandboxd_sandboxes_memory_limit_bytes`: the memory limits of the
 * running sandboxes added up (what the daemon has promised them).
 */
export function registerHostMemoryMetrics(registry: Registry, running: () => Array<{ limits: { memoryMB: number } }>, meminfo = () => readFileSync('/proc/meminfo', 'utf8')): void {
  new Gauge({
    name: 'sandboxd_host_memory_bytes',
    help: 'Host memory by kind (total, available, committed: Committed_AS of /proc/meminfo)',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      let text: string;
      try {
        text = meminfo();
      } catch {
        return;
      }
      for (const [kind, bytes] of Object.entries(parseMeminfo(text))) this.set({ kind }, bytes);
    },
  });
  new Gauge({
    name: 'sandboxd_sandboxes_memory_limit_bytes',
    help: 'Memory limits of the running sandboxes, added up',
    registers: [registry],
    collect() {
      this.set(running().reduce((sum, r) => sum + r.limits.memoryMB * 2 ** 20, 0));
    },
  });
}
