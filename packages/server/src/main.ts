#!/usr/bin/env node
// sandboxd command line: the only place that reads process.env/argv, prints and exits.
import { Command } from 'commander';
import { loadConfig, type ConfigFlags } from './config.js';
import { registerKeyCommands } from './cli/keys-cli.js';
import { mcp, mcpConnection } from './cli/mcp.js';
import { homeFiles } from './cli/paths.js';
import { registerSandboxCommands } from './cli/sandbox-cli.js';
import { serve } from './cli/serve.js';
import { fetchUsage, parseSince, usageTable } from './cli/usage-cli.js';
import { runningPid, start, stop } from './cli/start.js';
import { existsSync } from 'node:fs';
import { buildTemplatesWithProgress, builtInTemplateNames } from './cli/template-progress.js';
import { buildTemplateFile, registerTemplateCommands } from './cli/template-cli.js';
import { createFsTemplateStore } from './templates/fs-template-store.js';

const print = (line: string): void => void process.stdout.write(`${line}\n`);

const program = new Command('sandboxd')
  .description('Self-hosted, E2B-compatible sandboxes on gVisor')
  .option('--port <port>', 'listen port (SANDBOXD_PORT, default 3000)')
  .option('--host <host>', 'listen address (SANDBOXD_HOST, default 127.0.0.1)')
  .option('--home <dir>', 'state directory (SANDBOXD_HOME, default /var/lib/sandboxd)')
  .option('--domain <domain>', 'domain of <port>-<sandboxId>.<domain> hosts (SANDBOXD_DOMAIN)');

const config = () => loadConfig(process.env, program.opts<ConfigFlags>());

program
  .command('serve')
  .description('run the daemon in the foreground')
  .action(async () => {
    await serve(config());
    // Closed in order: exit now. Node's own teardown after the last callback was seen spinning at
    // 100% CPU forever in Environment::CleanupHandles (after a daemon served E2B's suites), with no
    // JavaScript left to run and the stop deadline's timer out of reach.
    process.exit(process.exitCode ?? 0);
  });
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
  .command('build [file-or-name]')
  .description('build a template file or directory (the SDK Template class, see README) on the running daemon; a built-in name is built here when absent (default: every built-in template, base and code-interpreter-v1)')
  .option('--name <name>', 'template name (default: the file\'s or its directory\'s name)')
  .option('--cpu <count>', 'vCPUs of its sandboxes (default 2)')
  .option('--memory <MB>', 'memory of its sandboxes (default 1024)')
  .option('--skip-cache', 'rebuild every step')
  .action(async (target: string | undefined, opts: { name?: string; cpu?: string; memory?: string; skipCache?: boolean }) => {
    if (target !== undefined && existsSync(target)) {
      await buildTemplateFile(mcpConnection(config(), process.env), target, opts, print);
      return;
    }
    await buildTemplatesWithProgress(createFsTemplateStore(homeFiles(config()).templatesDir, undefined, { aptCacheMaxMB: config().aptCacheMaxMB }), target === undefined ? builtInTemplateNames() : [target], print);
  });
registerTemplateCommands(template, () => mcpConnection(config(), process.env), print);

registerKeyCommands(program, config, () => mcpConnection(config(), process.env), print);

program
  .command('usage')
  .description('usage per API key (sandbox-seconds, CPU-seconds, memory GiB-seconds, executions, egress bytes) from the running daemon')
  .option('--since <when>', 'from a duration back (30m, 6h, 7d) or a date (default: all recorded usage)')
  .option('--until <when>', 'until a duration back or a date (default: now)')
  .option('--key <id>', "only this key's usage (admin keys; others always get their own)")
  .option('--json', 'print the daemon\'s JSON answer')
  .action(async (opts: { since?: string; until?: string; key?: string; json?: boolean }) => {
    const now = Date.now();
    const answer = await fetchUsage(mcpConnection(config(), process.env), {
      ...(opts.since !== undefined ? { startSec: parseSince('--since', opts.since, now) } : {}),
      ...(opts.until !== undefined ? { endSec: parseSince('--until', opts.until, now) } : {}),
      ...(opts.key !== undefined ? { keyId: opts.key } : {}),
    });
    print(opts.json ? JSON.stringify(answer) : usageTable(answer));
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`sandboxd: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
