#!/usr/bin/env node
// Entry point of the in-sandbox agent, and the only module that touches the process environment,
// sockets and signals: reads the config, starts the memory guard, the code interpreter and the
// sudo broker, then serves the envd-compatible API; SIGTERM/SIGINT shut everything down.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerClientError } from './envd/client-error.js';
import { createEnvd } from './envd/envd.js';
import { errorResponse } from './envd/http-errors.js';
import { installSafetyNet } from './envd/safety-net.js';
import { createCodeInterpreter } from './code-interpreter/index.js';
import { loadConfig } from './config.js';
import type { AdoptHook } from './envd/adopt/adopter.js';
import { createLogger } from './logger.js';
import { applyPidsLimit } from './limits/pids-limit.js';
import { startMemoryGuard } from './memory/memory-guard.js';
import { listen } from './serve.js';
import { startSudoBroker } from './sudo/index.js';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/** How long in-flight envd requests get to finish on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 3_000;

async function main(): Promise<void> {
  const config = await loadConfig(process.env);
  const logger = createLogger({ component: 'agent', sandboxId: config.agent.sandboxId });
  const shutdown = new AbortController();
  const closers: Array<() => Promise<void> | void> = [];
  // Services that follow the daemon's adopt (POST /adopt on envd) before it answers.
  const adoptHooks: AdoptHook[] = [];

  // Before anything else forks: the sandbox's task limit, where fork meets it as EAGAIN.
  if (config.agent.pidsLimit !== undefined) {
    await applyPidsLimit(config.agent.pidsLimit).catch((err: unknown) => logger.error('cannot set the sandbox pids limit', { err }));
  }

  const memoryGuard = config.memoryGuard
    ? startMemoryGuard({ onKill: (kill) => logger.warn('out of memory: killed the largest process', { ...kill }) })
    : undefined;
  if (memoryGuard) closers.push(() => memoryGuard.close());

  if (config.codePort !== 'off') {
    const codeLogger = logger.child({ server: 'code-interpreter' });
    const code = await createCodeInterpreter({
      config: config.agent,
      path: config.path,
      lang: config.lang,
      kernelDebug: config.kernelDebug,
      traceLog: (fields) => codeLogger.info('execution trace', fields),
      ...(memoryGuard ? { oomKillOf: (pid: number) => memoryGuard.killOf(pid) } : {}),
    });
    const server = await listen({
      fetch: code.app.fetch,
      host: config.host,
      port: config.codePort,
      keepAliveMs: 640_000,
      headersTimeoutMs: 650_000,
      accessLog: codeLogger,
    });
    // Executions are interrupted and their connections cut at once; then the kernels go.
    closers.push(async () => {
      await Promise.all([server.close(0), code.close()]);
    });
    adoptHooks.push((identity, how) => code.adopt(identity, how));
    logger.info('listening', { server: 'code-interpreter', port: server.port, sinceStartMs: Math.round(performance.now()) });
  }

  // gVisor does not honour setuid bits: `sudo` inside the sandbox asks this root broker instead.
  // A failure here must not take the agent down; sudo then says the broker is unreachable.
  if (config.sudoSocket !== 'off') {
    const sudoBroker = await startSudoBroker({
      ...(config.sudoSocket ? { socketPath: config.sudoSocket } : {}),
      signal: shutdown.signal,
      logger: logger.child({ server: 'sudo' }),
    }).catch((err: unknown) => {
      logger.error('sudo broker failed to start', { err });
      return undefined;
    });
    if (sudoBroker) closers.push(() => sudoBroker.close());
  }

  // envd opens last: the daemon takes its /health as "the sandbox is ready", so every other
  // service must already be listening by then.
  const envdLogger = logger.child({ server: 'envd' });
  installSafetyNet(envdLogger);
  const envd = await createEnvd({ config: config.agent, logger: envdLogger, path: config.path, adoptHooks });
  const server = await listen({
    fetch: envd.app.fetch,
    host: config.host,
    port: config.envdPort,
    keepAliveMs: 650_000,
    headersTimeoutMs: 60_000,
    onConnect: envd.onConnect,
    onClientError: answerClientError,
    onRequestError: (err) => errorResponse(new SandboxdError(ErrorCode.BAD_REQUEST, `invalid request URL: ${err instanceof Error ? err.message : String(err)}`)),
    // A write after end or a reset socket must not surface as an unlistened 'error' event.
    onResponseError: (req, err) => envdLogger.warn('response stream error', { method: req.method, url: req.url, err: err.message }),
    accessLog: envdLogger,
  });
  closers.push(async () => {
    envd.close();
    await server.close(SHUTDOWN_GRACE_MS);
  });
  // A template's start command (E2B's setStartCmd) runs as the default user once the API is up.
  await envd.startTemplateCommand();
  // The default user's first command should not wait for its login environment and spawner. Not
  // before the first answer (the daemon's readiness probe): the warm-up forks a login shell and
  // the spawner, and a fork under gVisor holds this event loop for tens of milliseconds.
  server.server.once('request', (_req: IncomingMessage, res: ServerResponse) => res.once('close', () => envd.warmDefaultUser()));
  logger.info('listening', { server: 'envd', port: server.port, url: server.url, sinceStartMs: Math.round(performance.now()) });

  const stop = (signal: NodeJS.Signals): void => {
    logger.info('shutting down', { signal });
    shutdown.abort(new Error(`received ${signal}`));
    Promise.all(closers.map(async (close) => close())).then(
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
