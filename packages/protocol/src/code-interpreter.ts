/** Request body of `POST /execute` on the code-interpreter port. */
export interface ExecutionRequest {
  code: string;
  context_id?: string | null;
  language?: string | null;
  env_vars?: Record<string, string> | null;
}

/** A context (one kernel with its own state) as `/contexts` returns it. */
export interface ContextInfo {
  id: string;
  language: string;
  cwd: string;
}

/** Chart object in E2B's schema (all keys present, null when empty). */
export type ChartInfo = Record<string, unknown> & { type: string; title: string | null; elements: unknown[] };

/** A rich result: one MIME bundle mapped onto E2B's result fields. */
export interface ResultLine {
  type: 'result';
  is_main_result: boolean;
  text?: string;
  html?: string;
  markdown?: string;
  svg?: string;
  png?: string;
  jpeg?: string;
  pdf?: string;
  latex?: string;
  json?: unknown;
  javascript?: string;
  data?: unknown;
  chart?: ChartInfo;
  extra: Record<string, unknown>;
}

/**
 * Resource usage of one execution: a sandboxd extension line, emitted just before
 * `end_of_execution`. The official SDKs ignore line types they do not know.
 */
export interface UsageLine {
  type: 'usage';
  /** Wall-clock time from the kernel accepting the request to its reply. */
  wall_time_ms: number;
  /** CPU time (user + system) the kernel's process tree spent during the execution. */
  cpu_time_ms: number;
  /** Peak resident memory of the kernel's process tree observed during the execution. */
  peak_memory_bytes: number;
}

/** Every line of the `/execute` NDJSON stream. */
export type ExecutionLine =
  | { type: 'number_of_executions'; execution_count: number }
  | { type: 'stdout' | 'stderr'; text: string; timestamp: string }
  | ResultLine
  | { type: 'error'; name: string; value: string; traceback: string }
  | { type: 'keepalive' }
  | UsageLine
  | { type: 'end_of_execution' };
