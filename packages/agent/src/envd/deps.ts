import type { AgentConfig } from '@sandboxd/protocol';
import type { MetadataStore } from '../files/metadata.js';
import type { WatcherRegistry } from '../files/watcher-registry.js';
import type { Logger } from '../logger.js';
import type { ProcessManager } from '../process/process-manager.js';
import type { UserDb } from '../users/user-db.js';

/** What the envd-compatible API is built from. */
export interface EnvdDeps {
  config: AgentConfig;
  users: UserDb;
  processes: ProcessManager;
  metadata: MetadataStore;
  watchers: WatcherRegistry;
  logger: Logger;
}
