#!/usr/bin/env node
// Entry point of the in-sandbox agent: reads the sandbox's config, starts the memory guard, the
// code interpreter and the sudo broker, then the envd-compatible API; SIGTERM/SIGINT shut
// everything down through one abort signal.
import { CODE_INTERPRETER_PORT } from '@sandboxd/protocol';
import { startCodeInterpreter } from './code-interpreter/index.js';
import { loadConfig } from './config.js';
import { startEnvdServer } from './envd/server.js';
import { createLogger } from './logger.js';
import { applyPidsLimit } from './limits/pids-limit.js';
import { startMemoryGuard } from './memory/memory-guard.js';
import { startSudoBroker } from './sudo/index.js';

async function main(): Promise<void> {
  const config = await loadConfig(process.env);
  const logger = createLogger({ component: 'agent', sandboxId: config.agent.sandboxId });
  const shutdown = new AbortController();

  const servers: Array<{ close(): Promise<void> }> = [];

  // Before anything else forks: the sandbox's task limit, where fork meets it as EAGAIN.
  if (config.agent.pidsLimit !== undefined) {
    await applyPidsLimit(config.agent.pidsLimit).catch((err: unknown) => logger.error('cannot set the sandbox pids limit', { err }));
  }

  // SANDBOXD_AGENT_MEMORY_GUARD=off disables the sandbox's own out-of-memory killer (tests on a host).
  const memoryGuard =
    process.env['SANDBOXD_AGENT_MEMORY_GUARD'] === 'off'
      ? undefined
      : startMemoryGuard({ onKill: (kill) => logger.warn('out of memory: killed the largest process', { ...kill }) });
  shutdown.signal.addEventListener('abort', () => memoryGuard?.close(), { once: true });
  // SANDBOXD_AGENT_CODE_PORT / SANDBOXD_AGENT_SUDO_SOCKET: a port or socket path, or `off`.
  const codePortSetting = process.env['SANDBOXD_AGENT_CODE_PORT'] ?? String(CODE_INTERPRETER_PORT);
  if (codePortSetting !== 'off') {
    const code = await startCodeInterpreter({
      host: config.host,
      port: Number(codePortSetting),
      config: config.agent,
      signal: shutdown.signal,
      ...(memoryGuard ? { oomKillOf: (pid: number) => memoryGuard.killOf(pid) } : {}),
    });
    servers.push(code);
    logger.info('listening', { server: 'code-interpreter', port: Number(codePortSetting) });
  }

  // gVisor does not honour setuid bits: `sudo` inside the sandbox asks this root broker instead.
  // A failure here must not take the agent down; sudo then says the broker is unreachable.
  const sudoSocket = process.env['SANDBOXD_AGENT_SUDO_SOCKET'];
  if (sudoSocket !== 'off') {
    const sudoBroker = await startSudoBroker({
      ...(sudoSocket ? { socketPath: sudoSocket } : {}),
      signal: shutdown.signal,
      logger: logger.child({ server: 'sudo' }),
    }).catch((err: unknown) => {
      logger.error('sudo broker failed to start', { err });
      return undefined;
    });
    if (sudoBroker) servers.push(sudoBroker);
  }

  // envd opens last: the daemon takes its /health as "the sandbox is ready", so every other
  // service must already be listening by then.
  const envd = await startEnvdServer({
    config: config.agent,
    logger: logger.child({ server: 'envd' }),
    host: config.host,
    port: config.envdPort,
    signal: shutdown.signal,
  });
  servers.push(envd);
  logger.info('listening', { server: 'envd', port: envd.port, url: envd.url });

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
