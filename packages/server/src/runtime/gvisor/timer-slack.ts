import { readdirSync, writeFileSync } from 'node:fs';

/** Linux's timer slack of an ordinary (not real-time) thread: 50 µs. */
export const DEFAULT_TIMER_SLACK_NS = 50_000;

/**
 * Sets the timer slack of every thread of a host process (`/proc/<tid>/timerslack_ns`, Linux ≥ 4.6,
 * CAP_SYS_NICE over the process). The kernel may fire a sleeping thread's timer that much late, so
 * that wake-ups of many timers coalesce into one; threads created afterwards inherit the slack of
 * the thread that creates them. Synchronous: a few dozen small procfs writes. Returns how many
 * threads took it (0 when the process is gone); a thread that exits meanwhile is skipped.
 */
export function setProcessTimerSlack(pid: number, slackNs: number): number {
  if (!Number.isInteger(slackNs) || slackNs < 0) throw new RangeError(`timer slack must be a non-negative integer of nanoseconds, not ${slackNs}`);
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  const value = String(slackNs);
  let set = 0;
  for (const tid of tids) {
    try {
      // /proc/<pid>/task/<tid> has no timerslack_ns; /proc/<tid> (hidden from the listing) has.
      writeFileSync(`/proc/${tid}/timerslack_ns`, value);
      set++;
    } catch {
      // the thread exited
    }
  }
  return set;
}
