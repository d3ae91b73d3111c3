import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { DaemonMetrics } from './daemon-metrics.js';

/** The service with its creates, kills, pauses and resumes counted and timed by `metrics` (every other method as is). */
export function instrumentSandboxes(sandboxes: SandboxService, metrics: DaemonMetrics): SandboxService {
  return {
    ...sandboxes,
    create: (input, options) => metrics.observeCreate(input.template, () => sandboxes.create(input, options)),
    kill: (sandboxId, options) => metrics.observeOperation('kill', () => sandboxes.kill(sandboxId, options)),
    pause: (sandboxId, options) => metrics.observeOperation('pause', () => sandboxes.pause(sandboxId, options)),
    resume: (sandboxId, timeoutSec, options) => metrics.observeOperation('resume', () => sandboxes.resume(sandboxId, timeoutSec, options), (result) => result.resumed),
  };
}
