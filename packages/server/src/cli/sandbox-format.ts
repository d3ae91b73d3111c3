import type { SandboxInfo } from 'e2b';

/**
 * A plain-text table: a header row, then one row per entry, columns left-aligned and separated by
 * two spaces; the last column is not padded. Tabs and newlines in cells become spaces.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const clean = (cell: string) => cell.replace(/[\t\r\n]+/g, ' ');
  const all = [headers, ...rows].map((row) => headers.map((_, i) => clean(row[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  return all
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** A duration as its two largest units: `45s`, `3m12s`, `5h2m`, `2d3h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
}

/** Metadata as `k=v,k2=v2`, keys sorted; `-` when empty. */
export function formatMetadata(metadata: Record<string, string> | undefined): string {
  const entries = Object.entries(metadata ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

const templateOf = (s: SandboxInfo) => s.name || s.templateId;

/** `sandboxd sandbox list`: one row per sandbox, oldest first. */
export function sandboxTable(sandboxes: readonly SandboxInfo[], now: number): string {
  const sorted = [...sandboxes].sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  return formatTable(
    ['ID', 'TEMPLATE', 'STATE', 'AGE', 'CPU', 'MEMORY', 'METADATA'],
    sorted.map((s) => [
      s.sandboxId,
      templateOf(s),
      s.state,
      formatAge(now - s.startedAt.getTime()),
      String(s.cpuCount),
      `${s.memoryMB} MiB`,
      formatMetadata(s.metadata),
    ]),
  );
}

/** `sandboxd sandbox info`: one `field  value` line per property. */
export function sandboxDetails(s: SandboxInfo, now: number): string {
  const rows: [string, string][] = [
    ['id', s.sandboxId],
    ['template', s.name ? `${s.name} (${s.templateId})` : s.templateId],
    ['state', s.state],
    ['started', `${s.startedAt.toISOString()} (${formatAge(now - s.startedAt.getTime())} ago)`],
    ['ends', `${s.endAt.toISOString()} (in ${formatAge(s.endAt.getTime() - now)})`],
    ['cpu', String(s.cpuCount)],
    ['memory', `${s.memoryMB} MiB`],
    ['internet', s.allowInternetAccess === false ? 'denied' : 'allowed'],
    ['metadata', formatMetadata(s.metadata)],
    ['envd', s.envdVersion],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

const MIB = 1024 * 1024;

/** A `cp` progress line: `name  12.0/20.0 MiB  60%  4.1 MiB/s`. */
export function formatProgress(name: string, done: number, total: number, elapsedMs: number): string {
  const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
  const rate = elapsedMs > 0 ? done / MIB / (elapsedMs / 1000) : 0;
  return `${name}  ${(done / MIB).toFixed(1)}/${(total / MIB).toFixed(1)} MiB  ${pct}%  ${rate.toFixed(1)} MiB/s`;
}
