import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** `components.schemas.SandboxLogEntry`. */
export interface LogEntry {
  timestamp: string;
  level: LogLevel;
  message: string;
  fields: Record<string, string>;
}

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

function pinoLevel(level: unknown): LogLevel {
  if (typeof level === 'string' && (LEVELS as string[]).includes(level)) return level as LogLevel;
  if (typeof level === 'number') return level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
  return 'info';
}

/**
 * Turns the runtime's raw agent log lines into entries. JSON lines (pino: `time`, `level`, `msg`)
 * keep their time, level and remaining fields; other lines are `info` stamped with `fallbackMs`.
 */
export function toLogEntries(lines: string[], fallbackMs: number): LogEntry[] {
  return lines.map((line) => {
    try {
      const parsed = JSON.parse(line) as unknown;
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
        const { time, level, msg, ...rest } = parsed as Record<string, unknown>;
        const fields: Record<string, string> = {};
        for (const [k, v] of Object.entries(rest)) fields[k] = typeof v === 'string' ? v : JSON.stringify(v);
        const at = typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : Number.NaN;
        return {
          timestamp: new Date(Number.isNaN(at) ? fallbackMs : at).toISOString(),
          level: pinoLevel(level),
          message: typeof msg === 'string' ? msg : line,
          fields,
        };
      }
    } catch {
      // a plain text line
    }
    return { timestamp: new Date(fallbackMs).toISOString(), level: 'info', message: line, fields: {} };
  });
}

const bad = (message: string) => new SandboxdError(ErrorCode.BAD_REQUEST, message);

/** Applies the v2 logs query (`cursor` ms, `direction`, `level`, `limit`, `search`). */
export function filterLogEntries(entries: LogEntry[], params: URLSearchParams): LogEntry[] {
  const direction = params.get('direction') ?? 'forward';
  if (direction !== 'forward' && direction !== 'backward') throw bad('direction must be "forward" or "backward"');
  const level = params.get('level');
  if (level !== null && !(LEVELS as string[]).includes(level)) throw bad(`level must be one of ${LEVELS.join(', ')}`);
  const limitRaw = params.get('limit');
  const limit = limitRaw === null ? 1000 : Number(limitRaw);
  if (!Number.isInteger(limit) || limit < 0 || limit > 10_000) throw bad('limit must be an integer from 0 to 10000');
  const cursorRaw = params.get('cursor') ?? params.get('start');
  const cursor = cursorRaw === null ? undefined : Number(cursorRaw);
  if (cursor !== undefined && !Number.isFinite(cursor)) throw bad('cursor must be a unix timestamp in milliseconds');
  const search = params.get('search');
  const minLevel = level === null ? 0 : LEVELS.indexOf(level as LogLevel);
  const selected = entries.filter((e) => {
    const at = Date.parse(e.timestamp);
    if (cursor !== undefined && (direction === 'forward' ? at < cursor : at > cursor)) return false;
    if (LEVELS.indexOf(e.level) < minLevel) return false;
    return search === null || e.message.includes(search);
  });
  return direction === 'forward' ? selected.slice(0, limit) : selected.reverse().slice(0, limit);
}
