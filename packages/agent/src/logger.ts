import { currentRequestId } from './request-scope.js';

/**
 * Minimal structured logger: one JSON object per line on stdout; a line written while a request is
 * handled carries its `reqId` (`request-scope.ts`).
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** An Error as JSON: name, message, code, stack and (recursively, a few levels) its cause. */
function serializeError(error: Error, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) out['code'] = code;
  if (error.stack) out['stack'] = error.stack;
  const cause = error.cause;
  if (cause !== undefined && depth < 4) out['cause'] = cause instanceof Error ? serializeError(cause, depth + 1) : String(cause);
  return out;
}

export function createLogger(
  base: Record<string, unknown> = {},
  write: (line: string) => void = (line) => process.stdout.write(line),
): Logger {
  const emit = (level: string, msg: string, fields?: Record<string, unknown>): void => {
    const reqId = currentRequestId();
    const record: Record<string, unknown> = { time: new Date().toISOString(), level, msg, ...(reqId === undefined ? {} : { reqId }), ...base, ...fields };
    for (const [k, v] of Object.entries(record)) {
      if (v instanceof Error) record[k] = serializeError(v);
    }
    write(`${JSON.stringify(record)}\n`);
  };
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createLogger({ ...base, ...fields }, write),
  };
}

/** A logger that drops everything (tests and in-process use). */
export const silentLogger: Logger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
