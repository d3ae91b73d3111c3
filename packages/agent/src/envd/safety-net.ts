import type { Logger } from '../logger.js';

let installed = false;

/**
 * Last line of defence, not the fix: an exception or rejection nobody handled would otherwise end
 * the agent, and with it the whole sandbox. Every request path handles its own errors; reaching
 * this is a bug, so it is logged loudly (level error, stack included) and the agent keeps serving.
 * Installed once per process.
 */
export function installSafetyNet(logger: Logger): void {
  if (installed) return;
  installed = true;
  const report = (kind: string) => (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    logger.error(`BUG: ${kind} caught by the agent's safety net (the agent keeps running)`, {
      err: { name: e.name, message: e.message, stack: e.stack },
    });
  };
  process.on('uncaughtException', report('uncaught exception'));
  process.on('unhandledRejection', report('unhandled promise rejection'));
}
