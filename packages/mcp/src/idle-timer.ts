/**
 * Fires `onIdle` once nothing has used the session for `idleMs`. Work in progress (between
 * `begin()` and its `end()`) is never idle; the timer is unref'd so it never holds the process.
 *
 * @example
 * const idle = new IdleTimer(600_000, () => session.release());
 * const end = idle.begin();
 * try { await work(); } finally { end(); }
 */
export class IdleTimer {
  private timer: NodeJS.Timeout | undefined;
  private busy = 0;
  private stopped = false;

  constructor(
    private readonly idleMs: number,
    private readonly onIdle: () => void,
  ) {
    this.arm();
  }

  /** Marks the start of a use; call the returned function when it ends (idempotent). */
  begin(): () => void {
    this.busy++;
    this.disarm();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.busy--;
      if (this.busy === 0) this.arm();
    };
  }

  /** Stops the timer for good. */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private arm(): void {
    this.disarm();
    if (this.stopped || this.idleMs <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.busy === 0 && !this.stopped) this.onIdle();
    }, this.idleMs);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
