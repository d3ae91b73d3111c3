/**
 * envd built in-process for tests, as the agent builds it but without sockets, root or gVisor:
 * the current user as the sandbox's default user, a scratch directory, real processes and files.
 * Test support only: imported by `*.test.ts`, never by `main.ts` (so never in the agent bundle).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createClient, createRouterTransport } from '@connectrpc/connect';
import type { Client, Transport } from '@connectrpc/connect';
import { Filesystem, Process, SANDBOX_DEFAULT_PATH, parseAgentConfig } from '@sandboxd/protocol';
import type { AgentConfigInput } from '@sandboxd/protocol';
import { createXattrMetadataStore } from '../files/metadata.js';
import { WatcherRegistry } from '../files/watcher-registry.js';
import { silentLogger } from '../logger.js';
import { ProcessManager } from '../process/process-manager.js';
import { createUserDb } from '../users/user-db.js';
import { createEnvdApp } from './app.js';
import type { EnvdAppOptions } from './app.js';
import { envdRoutes } from './connect.js';
import type { EnvdDeps } from './deps.js';

export interface InProcessEnvd {
  deps: EnvdDeps;
  /** The envd Hono app: `app.request(path, init)`. */
  app: ReturnType<typeof createEnvdApp>;
  /** The Connect services over an in-memory transport (Connect's own router transport). */
  transport: Transport;
  process: Client<typeof Process>;
  fs: Client<typeof Filesystem>;
  /** Scratch directory, removed by `close()`. */
  dir: string;
  close(): Promise<void>;
}

export async function inProcessEnvd(config: AgentConfigInput = {}, options: Partial<EnvdAppOptions> = {}): Promise<InProcessEnvd> {
  const dir = await mkdtemp(join(tmpdir(), 'sandboxd-envd-test-'));
  const agent = parseAgentConfig({ defaultUser: userInfo().username, envVars: { SANDBOX_GLOBAL: 'from-sandbox' }, ...config });
  const deps: EnvdDeps = {
    config: agent,
    logger: silentLogger,
    users: createUserDb(),
    metadata: createXattrMetadataStore(silentLogger),
    watchers: new WatcherRegistry(),
    processes: new ProcessManager({
      logger: silentLogger,
      spawn: { path: SANDBOX_DEFAULT_PATH, sandboxEnv: agent.envVars, agentUid: process.getuid?.() ?? 0, setprivPath: undefined },
    }),
  };
  const shutdown = new AbortController();
  const app = createEnvdApp(deps, { shutdown: shutdown.signal, ...options });
  const transport = createRouterTransport(envdRoutes(deps), { router: { jsonOptions: { ignoreUnknownFields: true } } });
  return {
    deps,
    app,
    transport,
    process: createClient(Process, transport),
    fs: createClient(Filesystem, transport),
    dir,
    async close() {
      shutdown.abort();
      deps.watchers.closeAll();
      deps.processes.signalAll('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
