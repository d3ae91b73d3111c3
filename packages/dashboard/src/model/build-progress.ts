/** How far a template build got, read from its log lines (`[3/7] RUN …`, `CACHED [2/7] …`, `FINALIZE …`). */
export interface BuildProgress {
  /** Steps started (cached ones included). */
  step: number;
  /** Steps of the build. */
  of: number;
  /** The line of the step in progress, without its `[i/n]`. */
  current: string;
  /** The start and ready commands are being checked (all steps done). */
  finalizing: boolean;
}

const STEP = /^(?:CACHED )?\[(\d+)\/(\d+)\] (.*)$/;

/** The progress the log messages show; undefined before the first step (the base is resolved). */
export function buildProgress(messages: readonly string[]): BuildProgress | undefined {
  let progress: BuildProgress | undefined;
  for (const message of messages) {
    const m = STEP.exec(message);
    if (m) progress = { step: Number(m[1]), of: Number(m[2]), current: m[3]!, finalizing: false };
    else if (message.startsWith('FINALIZE ')) progress = { step: progress?.of ?? 0, of: progress?.of ?? 0, current: message, finalizing: true };
  }
  return progress;
}
