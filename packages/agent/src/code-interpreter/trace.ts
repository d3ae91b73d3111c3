/**
 * Where one execution's time went (sandbox env var `SANDBOXD_AGENT_TRACE=1`): milliseconds from
 * the request's arrival at the code interpreter to each step, logged once its stream has ended.
 */
export class ExecutionTrace {
  private readonly t0 = performance.now();
  private readonly marks: Record<string, number> = {};

  /** Records the first time `step` is reached. */
  mark(step: string): void {
    this.marks[step] ??= Math.round((performance.now() - this.t0) * 100) / 100;
  }

  get steps(): Readonly<Record<string, number>> {
    return this.marks;
  }
}
