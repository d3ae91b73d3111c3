/** Where an operation's time goes: `lap(name)` records the ms since the previous lap (or the start). */
export interface PhaseTimer {
  readonly phases: Record<string, number>;
  lap(name: string): void;
}

export function startPhaseTimer(): PhaseTimer {
  const phases: Record<string, number> = {};
  let mark = performance.now();
  return {
    phases,
    lap(name) {
      const now = performance.now();
      phases[name] = Math.round(now - mark);
      mark = now;
    },
  };
}
