import type { Command } from 'commander';
import type { SandboxdConnection } from '@sandboxd/mcp';
import type { Config } from '../config.js';
import { createDaemonAdmin } from './admin.js';
import { keyChange, keyCreateOptions, keysTable, type KeyCreateFlags } from './keys-args.js';
import { daemonAnswers, restKeyManager, type KeyManager } from './keys-client.js';
import { collect } from './sandbox-args.js';
import { ALL_SCOPES } from '../auth/scopes.js';

/** The daemon's database as a key manager (when no daemon answers: a first key, a stopped daemon). */
function databaseKeyManager(config: Config): KeyManager {
  const withAdmin = <T>(action: (admin: ReturnType<typeof createDaemonAdmin>) => T): Promise<T> => {
    const admin = createDaemonAdmin(config);
    try {
      return Promise.resolve(action(admin));
    } finally {
      admin.close();
    }
  };
  return {
    create: (name, options) => withAdmin((a) => a.apiKeys.create(name, options)),
    list: () => withAdmin((a) => a.apiKeys.list()),
    revoke: (id) => withAdmin((a) => a.apiKeys.revoke(id)),
    update: (id, change) => withAdmin((a) => a.apiKeys.update(id, change)),
  };
}

/**
 * `sandboxd keys create|list|update|revoke`: through the running daemon's `/keys` API (with the
 * CLI's key, which must be an admin key), or the daemon's database directly when no daemon
 * answers or no key is configured yet. `create` prints the key once (with `--json`, its id,
 * scopes and quota too).
 */
export function registerKeyCommands(program: Command, config: () => Config, connection: () => SandboxdConnection, print: (line: string) => void): void {
  const manager = async (): Promise<KeyManager> => {
    let conn: SandboxdConnection;
    try {
      conn = connection();
    } catch {
      return databaseKeyManager(config());
    }
    return (await daemonAnswers(conn.apiUrl)) ? restKeyManager(conn) : databaseKeyManager(config());
  };
  const quotaFlags = (cmd: Command): Command =>
    cmd
      .option('--scope <scopes>', `what the key may do, comma-separated or repeated: ${ALL_SCOPES.join(', ')}`, collect)
      .option('--max-sandboxes <n>', 'sandboxes of this key running at once')
      .option('--max-timeout <seconds>', 'longest sandbox timeout this key may set')
      .option('--max-memory-mb <MiB>', "memory of this key's running sandboxes together (their templates' memory)");
  const keys = program.command('keys').description('manage API keys');
  quotaFlags(keys.command('create [name]').description('create an API key (printed once); without --scope it is an admin key'))
    .option('--json', 'print the key with its id, scopes and quota as JSON')
    .action(async (name: string | undefined, flags: KeyCreateFlags & { json?: boolean }) => {
      const created = await (await manager()).create(name ?? 'cli', keyCreateOptions(flags));
      print(flags.json ? JSON.stringify(created) : created.key);
    });
  keys
    .command('list')
    .description('list API keys with their scopes and quotas')
    .option('--json', 'print a JSON array')
    .action(async (flags: { json?: boolean }) => {
      const listed = await (await manager()).list();
      print(flags.json ? JSON.stringify(listed) : keysTable(listed));
    });
  quotaFlags(keys.command('update <id>').description("change a key's scopes or quota (a limit of 0 lifts it)"))
    .option('--json', 'print the key as JSON')
    .action(async (id: string, flags: KeyCreateFlags & { json?: boolean }) => {
      const updated = await (await manager()).update(id, keyChange(flags));
      if (updated === undefined) throw new Error(`no active key ${id}`);
      print(flags.json ? JSON.stringify(updated) : keysTable([updated]));
    });
  keys
    .command('revoke <id>')
    .description('revoke an API key')
    .action(async (id: string) => print((await (await manager()).revoke(id)) ? `revoked ${id}` : `no active key ${id}`));
}
