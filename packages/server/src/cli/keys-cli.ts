import type { Command } from 'commander';
import type { Config } from '../config.js';
import { createDaemonAdmin } from './admin.js';
import { keyCreateOptions, keysTable, type KeyCreateFlags } from './keys-args.js';
import { collect } from './sandbox-args.js';
import { ALL_SCOPES } from '../auth/scopes.js';

/**
 * `sandboxd keys create|list|revoke`: the daemon's database directly (works while it runs).
 * `create` prints the key once (with `--json`, its id, scopes and quota too).
 */
export function registerKeyCommands(program: Command, config: () => Config, print: (line: string) => void): void {
  const withAdmin = <T>(action: (admin: ReturnType<typeof createDaemonAdmin>) => T): T => {
    const admin = createDaemonAdmin(config());
    try {
      return action(admin);
    } finally {
      admin.close();
    }
  };
  const keys = program.command('keys').description('manage API keys');
  keys
    .command('create [name]')
    .description('create an API key (printed once); without --scope it is an admin key')
    .option('--scope <scopes>', `what the key may do, comma-separated or repeated: ${ALL_SCOPES.join(', ')}`, collect)
    .option('--max-sandboxes <n>', 'sandboxes of this key running at once')
    .option('--max-timeout <seconds>', 'longest sandbox timeout this key may set')
    .option('--max-memory-mb <MiB>', "memory of this key's running sandboxes together (their templates' memory)")
    .option('--json', 'print the key with its id, scopes and quota as JSON')
    .action((name: string | undefined, flags: KeyCreateFlags & { json?: boolean }) => {
      const options = keyCreateOptions(flags);
      const created = withAdmin((admin) => admin.apiKeys.create(name ?? 'cli', options));
      print(flags.json ? JSON.stringify(created) : created.key);
    });
  keys
    .command('list')
    .description('list API keys with their scopes and quotas')
    .option('--json', 'print a JSON array')
    .action((flags: { json?: boolean }) => {
      const listed = withAdmin((admin) => admin.apiKeys.list());
      print(flags.json ? JSON.stringify(listed) : keysTable(listed));
    });
  keys
    .command('revoke <id>')
    .description('revoke an API key')
    .action((id: string) => print(withAdmin((admin) => admin.apiKeys.revoke(id)) ? `revoked ${id}` : `no active key ${id}`));
}
