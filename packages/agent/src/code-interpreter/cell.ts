/** Runs one cell on a kernel and translates its iopub/shell messages into `/execute` lines. */
import { randomUUID } from 'node:crypto';
import type { ExecutionLine } from '@sandboxd/protocol';
import type { Channel } from './jupyter/client.js';
import type { Kernel } from './jupyter/kernel.js';
import type { JupyterMessage } from './jupyter/wire.js';
import { chunkText } from './chunk.js';
import { bundleToResult } from './mime.js';
import type { ExecutionTrace } from './trace.js';

export type ErrorLine = Extract<ExecutionLine, { type: 'error' }>;

export interface CellOptions {
  /** Silent cells (env setup/restore, warm-up) emit nothing and keep the execution count. */
  silent: boolean;
  /**
   * Takes one line; a returned promise means "full, wait": the next line, and the next message
   * of the kernel's iopub channel, come only after it settles.
   */
  emit?: (line: ExecutionLine) => void | Promise<void>;
  /** Marks the cell's steps (request sent, reply, idle, flush) on an execution's trace. */
  trace?: ExecutionTrace;
}

export interface CellOutcome {
  status: 'ok' | 'error' | 'abort';
  /** The first error of the cell (already emitted when not silent). */
  error?: ErrorLine;
}

export interface RunningCell {
  /** Resolves after the reply and the kernel's return to idle (all output delivered). */
  done: Promise<CellOutcome>;
  /** Stops routing messages of this cell. */
  detach(): void;
}

function errorLine(content: Record<string, unknown>): ErrorLine {
  const traceback = Array.isArray(content.traceback) ? (content.traceback as unknown[]).map(String).join('\n') : '';
  return { type: 'error', name: String(content.ename ?? 'Error'), value: String(content.evalue ?? ''), traceback };
}

export function runCell(kernel: Kernel, code: string, options: CellOptions): RunningCell {
  const msgId = randomUUID();
  const emit: (line: ExecutionLine) => void | Promise<void> = options.silent ? () => undefined : (options.emit ?? (() => undefined));
  let reply: JupyterMessage | undefined;
  let idle = false;
  let error: ErrorLine | undefined;
  const trace = options.trace;
  const stops: (() => void)[] = [];
  const detach = (): void => {
    for (const stop of stops) stop();
  };

  const done = new Promise<CellOutcome>((resolve, reject) => {
    const finish = (): void => {
      trace?.mark('cellFinished');
      const status = String(reply?.content.status ?? 'ok');
      if (status === 'error' && !error) {
        error = errorLine(reply!.content);
        void emit(error);
      }
      if (status === 'abort' && !error) {
        error = { type: 'error', name: 'ExecutionAborted', value: 'Execution was aborted', traceback: '' };
        void emit(error);
      }
      detach();
      resolve({ status: status === 'error' || status === 'abort' ? status : 'ok', error });
    };
    // Some kernels (Deno) may publish a result after reporting idle: a kernel_info round trip
    // over iopub flushes whatever the kernel queued before it. Deno handles shell requests one
    // after another, so the kernel_info goes out right behind the execute_request and is answered
    // once the cell is done: no extra round trip after the cell's idle.
    const flushes = kernel.spec.name === 'deno';
    let flushed = !flushes;
    const flushId = randomUUID();
    const sendFlush = (): void => {
      stops.push(
        kernel.client.listen(flushId, (channel, message) => {
          if (channel === 'iopub' && message.header.msg_type === 'status' && message.content.execution_state === 'idle') {
            trace?.mark('flushed');
            flushed = true;
            if (reply && idle) finish();
          }
        }),
      );
      kernel.client.send('shell', 'kernel_info_request', {}, flushId).catch(reject);
    };
    // Reply and idle are in: done, unless Deno's flush has yet to come back (its listener finishes then).
    const flushThenFinish = (): void => {
      if (flushed) finish();
    };
    // One `stream` message holds all a kernel printed in a flush interval (hundreds of MB for a
    // big print): it goes out as lines of bounded size, each waiting for room in the consumer.
    const emitStream = async (name: 'stdout' | 'stderr', text: string, timestamp: string): Promise<void> => {
      for (const piece of chunkText(text)) await emit({ type: name, text: piece, timestamp });
    };
    const onMessage = (channel: Channel, message: JupyterMessage): void | Promise<void> => {
      const { content } = message;
      if (channel === 'shell' && message.header.msg_type === 'execute_reply') {
        trace?.mark('reply');
        reply = message;
        if (idle) flushThenFinish();
        return;
      }
      if (channel !== 'iopub') return;
      switch (message.header.msg_type) {
        case 'status':
          if (content.execution_state === 'busy') trace?.mark('busy');
          if (content.execution_state === 'idle' && !idle) {
            trace?.mark('idle');
            idle = true;
            if (reply) flushThenFinish();
          }
          return;
        case 'execute_input':
          return emit({ type: 'number_of_executions', execution_count: Number(content.execution_count ?? 0) });
        case 'stream':
          if (options.silent) return;
          return emitStream(content.name === 'stderr' ? 'stderr' : 'stdout', String(content.text ?? ''), message.header.date || new Date().toISOString());
        case 'execute_result':
        case 'display_data':
          trace?.mark('result');
          return emit(bundleToResult((content.data ?? {}) as Record<string, unknown>, message.header.msg_type === 'execute_result'));
        case 'error':
          if (!error) {
            error = errorLine(content);
            return emit(error);
          }
          return;
        default:
      }
    };
    stops.push(kernel.client.listen(msgId, onMessage));
    kernel.client
      .send(
        'shell',
        'execute_request',
        {
          code,
          silent: options.silent,
          store_history: !options.silent,
          user_expressions: {},
          allow_stdin: false,
          stop_on_error: true,
        },
        msgId,
      )
      .then(() => {
        trace?.mark('sent');
        if (flushes) sendFlush();
      })
      .catch((cause: unknown) => {
        detach();
        reject(cause);
      });
  });
  return { done, detach };
}
