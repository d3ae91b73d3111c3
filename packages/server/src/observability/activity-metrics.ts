import { Counter, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import type { StreamOutcome } from './stream-scan.js';

/** Seconds buckets of a code execution or a command (a `print` takes ms; a training run, minutes). */
const RUN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800];
/** Seconds buckets of a kill, pause or resume (a freeze takes tens of ms; a restore from disk seconds). */
const OPERATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The code-interpreter languages a label may name; any other is `other`. */
const LANGUAGES = new Set(['python', 'javascript', 'typescript', 'r', 'java', 'bash']);

/** A sandbox operation the REST API times. */
type SandboxOperation = 'kill' | 'pause' | 'resume';

export interface ActivityMetrics {
  /** One code execution as the proxy saw its `/execute` stream; `language` as the agent named it. */
  observeExecution(language: string | undefined, outcome: StreamOutcome, seconds: number): void;
  /** One command (envd `Start` stream), start to stream end. */
  observeCommand(outcome: StreamOutcome, seconds: number): void;
  /**
   * Times one operation; `outcome` is `ok` or the error's code. A success `counts` says is no
   * such operation (a connect to a running sandbox, which resume only extends) is not recorded.
   */
  observeOperation<T>(operation: SandboxOperation, run: () => Promise<T>, counts?: (result: T) => boolean): Promise<T>;
}

/** The label of a language the sandbox reported (untrusted: a fixed set, else `other`). */
export function languageLabel(language: string | undefined): string {
  if (language === undefined || language === '') return 'unknown';
  return LANGUAGES.has(language) ? language : 'other';
}

/** Execution, command and operation series on `registry`. */
export function registerActivityMetrics(registry: Registry): ActivityMetrics {
  const executions = new Counter({
    name: 'sandboxd_executions_total',
    help: 'Code executions (code interpreter /execute) by language and outcome (ok, error, interrupted)',
    labelNames: ['language', 'outcome'] as const,
    registers: [registry],
  });
  const executionSeconds = new Histogram({
    name: 'sandboxd_execution_duration_seconds',
    help: 'Duration of code executions, from the request to the end of its stream, by language and outcome',
    labelNames: ['language', 'outcome'] as const,
    buckets: RUN_BUCKETS,
    registers: [registry],
  });
  const commands = new Counter({
    name: 'sandboxd_commands_total',
    help: 'Commands (envd process starts) by outcome (ok: exit 0, error: another exit code or a failed start, interrupted: a signal or a client gone)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const commandSeconds = new Histogram({
    name: 'sandboxd_command_duration_seconds',
    help: 'Duration of commands, from the start request to the end of its stream, by outcome',
    labelNames: ['outcome'] as const,
    buckets: RUN_BUCKETS,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'sandboxd_sandbox_operations_total',
    help: 'Sandbox kills, pauses and resumes through the API by outcome (ok or the error code)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const operationSeconds = new Histogram({
    name: 'sandboxd_sandbox_operation_duration_seconds',
    help: 'Duration of sandbox kills, pauses and resumes through the API by outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: OPERATION_BUCKETS,
    registers: [registry],
  });
  return {
    observeExecution(language, outcome, seconds) {
      const labels = { language: languageLabel(language), outcome };
      executions.inc(labels);
      executionSeconds.observe(labels, seconds);
    },
    observeCommand(outcome, seconds) {
      commands.inc({ outcome });
      commandSeconds.observe({ outcome }, seconds);
    },
    async observeOperation(operation, run, counts) {
      const started = performance.now();
      const record = (outcome: string): void => {
        operations.inc({ operation, outcome });
        operationSeconds.observe({ operation, outcome }, (performance.now() - started) / 1000);
      };
      let result: Awaited<ReturnType<typeof run>>;
      try {
        result = await run();
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        record(typeof code === 'string' ? code : 'error');
        throw error;
      }
      if (counts?.(result) !== false) record('ok');
      return result;
    },
  };
}
