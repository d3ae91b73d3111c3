import type { SandboxService } from '../sandboxes/sandbox-service.js';
import type { DaemonMetrics } from './daemon-metrics.js';

/** The service with its creates counted and timed by `metrics` (every other method as is). */
export function instrumentSandboxes(sandboxes: SandboxService, metrics: DaemonMetrics): SandboxService {
  return {
    ...sandboxes,
    create: (input, options) => metrics.observeCreate(input.template, () => sandboxes.create(input, options)),
  };
}
