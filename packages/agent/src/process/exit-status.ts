import { constants } from 'node:os';

/** The `end` event of a process, as envd reports it (Go's os.ProcessState semantics). */
export interface ExitInfo {
  exitCode: number;
  exited: boolean;
  status: string;
  error?: string;
}

/** Go's descriptions of Linux signals, as printed by ProcessState.String(). */
const SIGNAL_TEXT: Record<number, string> = {
  1: 'hangup',
  2: 'interrupt',
  3: 'quit',
  4: 'illegal instruction',
  5: 'trace/breakpoint trap',
  6: 'aborted',
  7: 'bus error',
  8: 'floating point exception',
  9: 'killed',
  10: 'user defined signal 1',
  11: 'segmentation fault',
  12: 'user defined signal 2',
  13: 'broken pipe',
  14: 'alarm clock',
  15: 'terminated',
  16: 'stack fault',
  17: 'child exited',
  18: 'continued',
  19: 'stopped (signal)',
  20: 'stopped',
  21: 'stopped (tty input)',
  22: 'stopped (tty output)',
  23: 'urgent I/O condition',
  24: 'CPU time limit exceeded',
  25: 'file size limit exceeded',
  26: 'virtual timer expired',
  27: 'profiling timer expired',
  28: 'window changed',
  29: 'I/O possible',
  30: 'power failure',
  31: 'bad system call',
};

export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') return signal;
  return (constants.signals as Record<string, number>)[signal] ?? 0;
}

/**
 * Exit info from a normal exit code or a terminating signal: `exit status N` (error set when N≠0),
 * or `signal: killed` with exitCode −1 and exited=false.
 */
export function exitInfo(code: number | null, signal: NodeJS.Signals | number | null): ExitInfo {
  const sig = signal === null ? 0 : signalNumber(signal);
  if (sig !== 0) {
    const status = `signal: ${SIGNAL_TEXT[sig] ?? `signal ${sig}`}`;
    return { exitCode: -1, exited: false, status, error: status };
  }
  const exitCode = code ?? 0;
  const status = `exit status ${exitCode}`;
  return exitCode === 0 ? { exitCode, exited: true, status } : { exitCode, exited: true, status, error: status };
}
