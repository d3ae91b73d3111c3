#!/usr/bin/env node
// sandboxd command line: the only place that reads process.env/argv, prints and exits.
import { Command } from 'commander';
import { loadConfig, type ConfigFlags } from './config.js';
import { createDaemonAdmin } from './cli/admin.js';
import { mcp, mcpConnection } from './cli/mcp.js';
import { homeFiles } from './cli/paths.js';
import { registerSandboxCommands } from './cli/sandbox-cli.js';
import { serve } from './cli/serve.js';
import { runningPid, start, stop } from './cli/start.js';
import { buildTemplateWithProgress } from './cli/template-progress.js';
import { createFsTemplateStore } from './templates/fs-template-store.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

const program = new Command('sandboxd')
  .description('Self-hosted, E2B-compatible sandboxes on gVisor')
  .option('--port <port>', 'listen port (SANDBOXD_PORT, default 3000)')
  .option('--host <host>', 'listen address (SANDBOXD_HOST, default 127.0.0.1)')
  .option('--home <dir>', 'state directory (SANDBOXD_HOME, default /var/lib/sandboxd)')
  .option('--domain <domain>', 'domain of <port>-<sandboxId>.<domain> hosts (SANDBOXD_DOMAIN)');

const config = () => loadConfig(process.env, program.opts<ConfigFlags>());

program.command('serve').description('run the daemon in the foreground').action(() => serve(config()));
program.command('start').description('build what is missing and start the daemon in the background').action(() => start(config(), print));
program.command('stop').description('stop the background daemon (sandboxes keep running)').action(() => stop(config(), print));
program
  .command('mcp')
  .description('serve MCP (Model Context Protocol) on stdin/stdout against the running daemon (E2B_API_URL/E2B_API_KEY or this config)')
  .option('--idle-timeout <seconds>', 'kill the session sandboxes after this long without a tool call (0: never; default 600)')
  .action((opts: { idleTimeout?: string }) => mcp(config(), process.env, { idleTimeoutSec: opts.idleTimeout }));
program
  .command('status')
  .description('say whether the daemon runs')
  .action(() => {
    const pid = runningPid(config());
    print(pid === undefined ? 'not running' : `running (pid ${pid})`);
  });

registerSandboxCommands(program, () => mcpConnection(config(), process.env));

const template = program.command('template').description('manage templates');
template
  .command('build [name]')
  .description('build a template when absent (default: base)')
  .action(async (name: string | undefined) => {
    await buildTemplateWithProgress(createFsTemplateStore(homeFiles(config()).templatesDir), name ?? 'base', print);
  });
template
  .command('list')
  .description('list built templates')
  .action(() => {
    for (const t of createFsTemplateStore(homeFiles(config()).templatesDir).list()) print(`${t.templateId}  ${t.aliases.join(',')}  ${t.rootfsPath}`);
  });

const keys = program.command('keys').description('manage API keys');
keys
  .command('create [name]')
  .description('create an API key (printed once)')
  .action((name: string | undefined) => {
    const admin = createDaemonAdmin(config());
    try {
      print(admin.apiKeys.create(name ?? 'cli').key);
    } finally {
      admin.close();
    }
  });
keys
  .command('list')
  .description('list API keys')
  .action(() => {
    const admin = createDaemonAdmin(config());
    try {
      for (const k of admin.apiKeys.list()) print(`${k.id}  ${k.name}  ${k.mask}  created ${k.createdAt}${k.revokedAt ? `  revoked ${k.revokedAt}` : ''}`);
    } finally {
      admin.close();
    }
  });
keys
  .command('revoke <id>')
  .description('revoke an API key')
  .action((id: string) => {
    const admin = createDaemonAdmin(config());
    try {
      print(admin.apiKeys.revoke(id) ? `revoked ${id}` : `no active key ${id}`);
    } finally {
      admin.close();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`sandboxd: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
