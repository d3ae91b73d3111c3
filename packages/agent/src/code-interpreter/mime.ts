/** Maps a Jupyter MIME bundle onto E2B's result fields. */
import type { ChartInfo, ResultLine } from '@sandboxd/protocol';

type ResultField = Exclude<keyof ResultLine, 'type' | 'is_main_result' | 'extra'>;

const FIELDS: Record<string, ResultField> = {
  'text/plain': 'text',
  'text/html': 'html',
  'text/markdown': 'markdown',
  'image/svg+xml': 'svg',
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'application/pdf': 'pdf',
  'text/latex': 'latex',
  'application/json': 'json',
  'application/javascript': 'javascript',
  'e2b/data': 'data',
  'e2b/chart': 'chart',
};

/** Removes one pair of surrounding quotes, as E2B does for `text/plain` of strings. */
export function stripQuotes(text: string): string {
  if (text.length >= 2) {
    const first = text[0];
    if ((first === "'" || first === '"') && text.endsWith(first)) return text.slice(1, -1);
  }
  return text;
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('');
  return JSON.stringify(value);
}

/** `execute_result` → `is_main_result: true`; `display_data` → false. */
export function bundleToResult(bundle: Record<string, unknown>, isMainResult: boolean): ResultLine {
  const line: ResultLine = { type: 'result', is_main_result: isMainResult, extra: {} };
  for (const [mime, value] of Object.entries(bundle)) {
    const field = Object.hasOwn(FIELDS, mime) ? FIELDS[mime] : undefined;
    if (field === undefined) {
      line.extra[mime] = value;
    } else if (field === 'json' || field === 'data') {
      line[field] = typeof value === 'string' ? parseJson(value) : value;
    } else if (field === 'chart') {
      if (value && typeof value === 'object' && 'type' in value) line.chart = value as ChartInfo;
    } else if (field === 'text') {
      line.text = stripQuotes(asText(value));
    } else {
      line[field] = asText(value);
    }
  }
  return line;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
