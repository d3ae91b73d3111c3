import { Sandbox as CodeSandbox, type Context, type Execution, type RunCodeLanguage, type RunCodeOpts } from '@e2b/code-interpreter';
import type { SandboxOpts } from 'e2b';
import { CALL_MS, CREATE_MS } from './helpers.js';
import { withTimeout, type Stack } from './stack.js';

/** Creates a code-interpreter sandbox (template `code-interpreter-v1`) on the stack, bounded. */
export function createCodeSandbox(stack: Stack, opts: SandboxOpts = {}): Promise<CodeSandbox> {
  return withTimeout(CodeSandbox.create({ ...stack.sdk, ...opts }), CREATE_MS, 'CodeSandbox.create');
}

/** `runCode` options of either overload: a language or a context (the server rejects both at once). */
export type RunCodeOptions = RunCodeOpts & { language?: RunCodeLanguage; context?: Context };

/** `runCode`, bounded by `ms` on our side too. */
export function runCode(sbx: CodeSandbox, code: string, opts: RunCodeOptions = {}, ms = CALL_MS): Promise<Execution> {
  return withTimeout(sbx.runCode(code, opts as RunCodeOpts & { language?: RunCodeLanguage }), ms, `runCode ${JSON.stringify(code.slice(0, 60))}`);
}

/** A compact description of an execution for assertion messages. */
export function describeExecution(execution: Execution): string {
  return JSON.stringify({
    results: execution.results.map((r) => ({ main: r.isMainResult, formats: r.formats(), text: r.text?.slice(0, 200) })),
    logs: execution.logs,
    error: execution.error,
  }).slice(0, 2000);
}

/** Fails with a readable message when the execution carries an error. */
export function assertNoError(execution: Execution): Execution {
  if (execution.error) throw new Error(`execution failed: ${execution.error.name}: ${execution.error.value}\n${execution.error.traceback}`);
  return execution;
}

export { CodeSandbox };

/**
 * Waits for the sandbox's Python kernel: its first cell, tried up to three times (a loaded machine
 * can take longer than the agent's kernel-start bound once). A kernel that never starts fails.
 */
export async function warmKernel(sbx: CodeSandbox): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      assertNoError(await runCode(sbx, '1', { timeoutMs: CALL_MS * 3 }, CALL_MS * 3));
      return;
    } catch (error) {
      last = error;
    }
  }
  throw last;
}
