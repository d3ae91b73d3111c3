/**
 * envd, built from the sandbox's config: its deps (users, file metadata, watchers, processes), the
 * Hono app of `app.ts` and the loopback forwarder for HTTP CONNECT. No sockets: `main.ts` serves it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Hono } from 'hono';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { AgentConfig } from '@sandboxd/protocol';
import { createInodeMetadataStore, withMetadataFallback } from '../files/inode-metadata.js';
import { createXattrMetadataStore } from '../files/metadata.js';
import { WatcherRegistry } from '../files/watcher-registry.js';
import type { Logger } from '../logger.js';
import { ProcessManager } from '../process/process-manager.js';
import { createSpawnRuntime } from '../process/spawn-context.js';
import { createUserDb } from '../users/user-db.js';
import { createAdopter, type AdoptHook } from './adopt/adopter.js';
import { createAdoptHandler } from './adopt/route.js';
import { createEnvdApp, type EnvdEnv } from './app.js';
import type { EnvdDeps } from './deps.js';
import { createLoopbackForwarder } from './loopback-forward.js';
import { toConnectError } from './rpc/errors.js';
import { createTemplateReadyHandler } from './template-ready-route.js';
import { startTemplateCommands, type TemplateStart } from './template-start.js';

export interface EnvdOptions {
  config: AgentConfig;
  logger: Logger;
  /** PATH of the agent: the base of every process it spawns. */
  path: string;
  /** Directory holding passwd/group (tests). */
  etcDir?: string;
  /**
   * Services that follow an adopt (`POST /adopt`) before it answers: the code interpreter's kernels.
   * The adopt itself rewrites `config` in place (token, env, default user), which envd reads per request.
   */
  adoptHooks?: AdoptHook[];
}

export interface Envd {
  app: Hono<EnvdEnv>;
  /** The server's 'connect' listener: the daemon's route to servers bound to the sandbox's loopback. */
  onConnect(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /**
   * Runs the template's start command (E2B's setStartCmd), if any, as the default user, then its
   * ready command until it passes (`template-start.ts`); call once the API listens.
   */
  startTemplateCommand(): Promise<void>;
  /** Prepares the default user's login environment and spawner in the background, so its first command does not wait; call once the API listens. */
  warmDefaultUser(): void;
  /** Ends in-flight streams (unavailable), stops watchers and loopback forwards, signals processes. */
  close(): void;
}

export async function createEnvd(options: EnvdOptions): Promise<Envd> {
  const { config, logger } = options;
  // SANDBOXD_AGENT_FAST_SPAWN=off in the sandbox's env: commands start the old way (benchmarks' A/B).
  const spawn = await createSpawnRuntime({
    sandboxEnv: config.envVars,
    logger,
    path: options.path,
    fastPath: config.envVars['SANDBOXD_AGENT_FAST_SPAWN'] !== 'off',
  });
  const deps: EnvdDeps = {
    config,
    logger,
    users: createUserDb(options.etcDir),
    // gVisor's gofer-served root refuses user xattrs: metadata then lives in the agent's memory.
    metadata: withMetadataFallback(createXattrMetadataStore(logger), createInodeMetadataStore()),
    watchers: new WatcherRegistry(),
    processes: new ProcessManager({ logger, spawn: spawn.context, direct: spawn.direct, directPty: spawn.directPty, trace: config.envVars['SANDBOXD_AGENT_TRACE'] === '1' }),
  };
  const shutdown = new AbortController();
  // The daemon's `POST /adopt` (daemon secret only): this agent becomes another sandbox.
  const adopter = createAdopter({ config, hooks: options.adoptHooks ?? [], logger: logger.child({ route: 'adopt' }) });
  // Read at each request: an adopt of a sandbox restored from an image gives it its own secret.
  const adopt = createAdoptHandler({ secret: () => config.loopbackSecret, adopter, logger });
  // The template's commands start once the API listens; until then the daemon hears `starting`.
  let commands: TemplateStart | undefined;
  let commandsStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (commandsStarted = resolve));
  const templateReady = createTemplateReadyHandler({
    secret: () => config.loopbackSecret,
    logger: logger.child({ route: 'template-ready' }),
    state: async (waitMs, signal) => {
      if (commands === undefined) {
        await Promise.race([started, new Promise((resolve) => setTimeout(resolve, waitMs).unref())]);
        if (commands === undefined) return { state: 'starting' };
      }
      return commands.state(waitMs, signal);
    },
  });
  const app = createEnvdApp(deps, { shutdown: shutdown.signal, adopt, templateReady });
  const loopback = createLoopbackForwarder({ secret: () => config.loopbackSecret, logger: logger.child({ route: 'loopback-forward' }) });
  let closed = false;
  return {
    app,
    onConnect: loopback.onConnect,
    startTemplateCommand() {
      commands ??= startTemplateCommands(deps);
      commandsStarted();
      return Promise.resolve();
    },
    warmDefaultUser() {
      const user = deps.users.lookup(config.defaultUser);
      if (user) spawn.warm(user);
    },
    close() {
      if (closed) return;
      closed = true;
      // A Connect error already: Connect ends the in-flight streams with exactly this code.
      shutdown.abort(toConnectError(new SandboxdError(ErrorCode.SANDBOX_UNREACHABLE, 'agent is shutting down')));
      deps.watchers.closeAll();
      deps.processes.signalAll('SIGTERM');
      spawn.close();
      loopback.closeAll();
    },
  };
}
