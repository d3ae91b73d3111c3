import { createApiKeyStore, type ApiKeyStore } from '../auth/api-keys.js';
import type { Config } from '../config.js';
import { openDatabase } from '../store/database.js';

/** Direct access to the daemon's database for administrative commands (works while it runs). */
export function createDaemonAdmin(config: Config): { apiKeys: ApiKeyStore; close(): void } {
  const db = openDatabase(config.home);
  return { apiKeys: createApiKeyStore(db, config.apiKey), close: () => db.close() };
}
