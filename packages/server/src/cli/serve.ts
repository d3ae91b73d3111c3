import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Config } from '../config.js';
import { createDaemon } from '../daemon.js';
import { createGvisorRuntime } from '../runtime/gvisor/gvisor-runtime.js';
import { createFsTemplateStore } from '../templates/fs-template-store.js';
import { REPO_ROOT, homeFiles } from './paths.js';

/**
 * After SIGTERM/SIGINT the process exits within this time whatever is still open (the cleanup
 * of a just-killed sandbox, say, is finished by the next start); `sandboxd stop` waits 15 s.
 */
export const STOP_DEADLINE_MS = 8_000;

/**
 * Runs the daemon in the foreground until SIGTERM/SIGINT. On first start (no stored key, none
 * configured) it creates an API key and keeps a 0600 plaintext copy for `sandboxd start` to print.
 */
export async function serve(config: Config): Promise<void> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const logger = pino({ level: config.logLevel, base: undefined });
  logger.info({ node: process.version, pid: process.pid }, `sandboxd starting on Node.js ${process.version}`);
  // Signals are handled from the first moment, so a stop during start-up is a clean stop too.
  const shutdown = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (!shutdown.signal.aborted) {
        shutdown.abort(new Error(`received ${signal}`));
        return;
      }
      logger.warn({ signal }, 'second stop signal: exiting now');
      process.exit(1);
    });
  }
  const stopped = new Promise<void>((resolve) => {
    if (shutdown.signal.aborted) resolve();
    else shutdown.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  void stopped.then(() => {
    // The hard deadline: unref'd, so it only fires when something still holds the process.
    setTimeout(() => {
      logger.error({ open: process.getActiveResourcesInfo() }, `still running ${STOP_DEADLINE_MS} ms after the stop signal: exiting anyway`);
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
  });

  const files = homeFiles(config);
  rmSync(files.urlFile, { force: true });
  const runtime = await createGvisorRuntime({
    home: config.home,
    agentRoot: REPO_ROOT,
    idleTimerSlackMs: config.idleTimerSlackMs,
    onBackgroundError: (sandboxId, err, what) =>
      what === 'metering'
        ? logger.error({ sandboxId, err }, "setting up the sandbox's traffic counters failed; its egress and downloads go unmetered")
        : logger.error({ sandboxId, err }, 'sandbox cleanup failed; the next start retries it'),
    onEgressEvent: (event) => logger.info(event, `egress to ${event.host ?? '(no name)'}:${event.port} ${event.verdict}`),
  });
  const templates = createFsTemplateStore(files.templatesDir, undefined, { aptCacheMaxMB: config.aptCacheMaxMB });
  const daemon = createDaemon({ config, runtime, templates, templateBuildDir: files.builtTemplatesDir, logger });
  if (!config.apiKey && !existsSync(files.apiKeyFile) && daemon.apiKeys.list().length === 0) {
    const { key } = daemon.apiKeys.create('default');
    writeFileSync(files.apiKeyFile, `${key}\n`, { mode: 0o600 });
    logger.info({ file: files.apiKeyFile }, 'created the first API key');
  }
  if (shutdown.signal.aborted) {
    logger.info({ reason: String(shutdown.signal.reason) }, 'stopped during start-up');
    await daemon.close();
    return;
  }
  try {
    const { url } = await daemon.listen({ signal: shutdown.signal });
    // Whole or not at all: a reader polling for the file never sees half a line.
    writeFileSync(`${files.urlFile}.tmp`, `${url}\n`);
    renameSync(`${files.urlFile}.tmp`, files.urlFile);
  } catch (error) {
    if (!shutdown.signal.aborted) throw error;
    logger.info({ reason: String(shutdown.signal.reason) }, 'stopped during start-up');
    await daemon.close();
    return;
  }
  writeFileSync(files.pidFile, `${process.pid}\n`);
  if (templates.list().length === 0) {
    logger.warn('no template is built yet: run `sandboxd template build` (base and code-interpreter-v1; or `./sandboxd start`) before creating sandboxes');
  }
  await stopped;
  const started = Date.now();
  logger.info({ reason: String(shutdown.signal.reason) }, 'shutting down; sandboxes keep running and are adopted on the next start');
  await daemon.close();
  rmSync(files.urlFile, { force: true });
  logger.info({ ms: Date.now() - started }, 'daemon closed');
}
