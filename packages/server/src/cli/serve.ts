import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { pino } from 'pino';
import type { Config } from '../config.js';
import { createDaemon } from '../daemon.js';
import { createGvisorRuntime } from '../runtime/gvisor/gvisor-runtime.js';
import { createFsTemplateStore } from '../templates/fs-template-store.js';
import { REPO_ROOT, homeFiles } from './paths.js';

/**
 * Runs the daemon in the foreground until SIGTERM/SIGINT. On first start (no stored key, none
 * configured) it creates an API key and keeps a 0600 plaintext copy for `sandboxd start` to print.
 */
export async function serve(config: Config): Promise<void> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const logger = pino({ level: config.logLevel, base: undefined });
  const files = homeFiles(config);
  const runtime = await createGvisorRuntime({
    home: config.home,
    agentRoot: REPO_ROOT,
    onBackgroundError: (sandboxId, err) => logger.error({ sandboxId, err }, 'sandbox cleanup failed; the next start retries it'),
  });
  const templates = createFsTemplateStore(files.templatesDir);
  const daemon = createDaemon({ config, runtime, templates, logger });
  if (!config.apiKey && !existsSync(files.apiKeyFile) && daemon.apiKeys.list().length === 0) {
    const { key } = daemon.apiKeys.create('default');
    writeFileSync(files.apiKeyFile, `${key}\n`, { mode: 0o600 });
    logger.info({ file: files.apiKeyFile }, 'created the first API key');
  }
  const shutdown = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => shutdown.abort(new Error(`received ${signal}`)));
  }
  await daemon.listen({ signal: shutdown.signal });
  writeFileSync(files.pidFile, `${process.pid}\n`);
  if (templates.list().length === 0) {
    logger.warn('no template is built yet: run `sandboxd template build base` (or `./sandboxd start`) before creating sandboxes');
  }
  await new Promise<void>((resolve) => shutdown.signal.addEventListener('abort', () => resolve(), { once: true }));
  logger.info({ reason: String(shutdown.signal.reason) }, 'shutting down; sandboxes keep running and are adopted on the next start');
  await daemon.close();
}
