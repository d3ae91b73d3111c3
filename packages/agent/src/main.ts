#!/usr/bin/env node
// Entry point of the in-sandbox agent: reads the sandbox's config and serves the envd-compatible
// API; SIGTERM/SIGINT shut everything down through one abort signal.
import { loadConfig } from './config.js';
import { startEnvdServer } from './envd/server.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  const config = await loadConfig(process.env);
  const logger = createLogger({ component: 'agent', sandboxId: config.agent.sandboxId });
  const shutdown = new AbortController();

  const envd = await startEnvdServer({
    config: config.agent,
    logger: logger.child({ server: 'envd' }),
    host: config.host,
    port: config.envdPort,
    signal: shutdown.signal,
  });
  logger.info('listening', { server: 'envd', port: envd.port, url: envd.url });

  // The code-interpreter server (port 49999, from ./code-interpreter/) starts here, with the same
  // `shutdown.signal`, and joins the `servers` list below.
  const servers = [envd];

  const stop = (signal: NodeJS.Signals): void => {
    logger.info('shutting down', { signal });
    shutdown.abort(new Error(`received ${signal}`));
    Promise.all(servers.map((s) => s.close())).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`sandboxd agent failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
