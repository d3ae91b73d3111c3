/**
 * Turns whatever `GET /usage` answers into tables: the dashboard renders the endpoint as it is,
 * without a fixed schema. Pure.
 */

export interface UsageTable {
  /** Where in the body the rows were found (`''` for the top level). */
  title: string;
  columns: string[];
  rows: string[][];
}

export interface UsageView {
  /** Scalar fields of the top level (time range, totals, …). */
  summary: Array<[string, string]>;
  tables: UsageTable[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Scalars of an object, nested objects flattened as `a.b`; arrays shown as JSON. */
function flatten(value: Record<string, unknown>, prefix = '', out: Array<[string, string]> = []): Array<[string, string]> {
  for (const [k, v] of Object.entries(value)) {
    const name = prefix === '' ? k : `${prefix}.${k}`;
    if (isObject(v)) flatten(v, name, out);
    else out.push([name, cell(v)]);
  }
  return out;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function table(title: string, items: unknown[]): UsageTable {
  const rows = items.map((item) => (isObject(item) ? flatten(item) : ([['value', cell(item)]] as Array<[string, string]>)));
  const columns: string[] = [];
  for (const row of rows) for (const [k] of row) if (!columns.includes(k)) columns.push(k);
  return { title, columns, rows: rows.map((row) => columns.map((c) => row.find(([k]) => k === c)?.[1] ?? '')) };
}

export function usageView(body: unknown): UsageView {
  if (Array.isArray(body)) return { summary: [], tables: [table('', body)] };
  if (!isObject(body)) return { summary: [['value', cell(body)]], tables: [] };
  const summary: Array<[string, string]> = [];
  const tables: UsageTable[] = [];
  for (const [k, v] of Object.entries(body)) {
    if (Array.isArray(v)) tables.push(table(k, v));
    else if (isObject(v) && Object.values(v).length > 0 && Object.values(v).every(isObject)) {
      // A map of key id → usage: one row per entry, its key first.
      tables.push(table(k, Object.entries(v).map(([id, item]) => ({ id, ...(item as Record<string, unknown>) }))));
    } else if (isObject(v)) summary.push(...flatten(v, k));
    else summary.push([k, cell(v)]);
  }
  return { summary, tables };
}

/** A field name as a column heading: `memoryGiBSeconds` → `memory GiB seconds`, `cpu.seconds` → `cpu seconds`. */
export function columnLabel(name: string): string {
  const words = name.match(/[KMGT]iB|[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+/g) ?? [name];
  return words.map((w) => (/^[KMGT]iB$/.test(w) || w === w.toUpperCase() ? w : w.toLowerCase())).join(' ');
}
