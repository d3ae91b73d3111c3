import type { Command } from 'commander';
import type { SandboxdConnection } from '@sandboxd/mcp';
import { collect } from './sandbox-args.js';
import { copyFile } from './sandbox-cp.js';
import { execInSandbox } from './sandbox-exec.js';
import { createSandbox, killSandboxes, listSandboxes, pauseSandboxes, resumeSandboxes, sandboxInfo, type CreateOptions, type Output } from './sandbox-lifecycle.js';
import { sandboxLogs } from './sandbox-logs.js';
import { sandboxShell } from './sandbox-shell.js';

const io: Output = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
};

/** Waits until what was written to `stream` has been handed to the OS. */
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));

/** Ends the process with `code` (0..255) once stdout and stderr are flushed. */
async function exitWith(code: number): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(Number.isInteger(code) && code >= 0 && code <= 255 ? code : 1);
}

/**
 * `sandboxd sandbox …`: sandboxes of the running daemon, through its public API with the official
 * `e2b` SDK, like any client. `connection()` resolves where the daemon is (as `sandboxd mcp` does).
 * Errors are thrown as SandboxdErrors with a message for the user; main prints them.
 */
export function registerSandboxCommands(program: Command, connection: () => SandboxdConnection): void {
  const sandbox = program
    .command('sandbox')
    .description('manage the sandboxes of the running daemon (E2B_API_URL/E2B_API_KEY/E2B_SANDBOX_URL, or this config)');
  const run = async (action: (conn: SandboxdConnection) => Promise<number>) => exitWith(await action(connection()));

  sandbox
    .command('list')
    .description('list running sandboxes')
    .option('--metadata <K=V>', 'only sandboxes with this metadata (repeatable)', collect)
    .option('--json', 'print a JSON array')
    .action((opts: { json?: boolean; metadata?: string[] }) => run((c) => listSandboxes(c, opts, io)));

  sandbox
    .command('create [template]')
    .description('create a sandbox (default template: base) and print its id')
    .option('--timeout <seconds>', 'idle timeout before the sandbox is killed (default 300)')
    .option('--env <K=V>', 'environment variable of every process in it (repeatable)', collect)
    .option('--metadata <K=V>', 'metadata (repeatable)', collect)
    .option('--no-internet', 'deny all outbound internet access')
    .option('--json', 'print the whole info as JSON')
    .action((template: string | undefined, opts: CreateOptions) => run((c) => createSandbox(c, template, opts, io)));

  sandbox
    .command('info <id>')
    .description('show a sandbox')
    .option('--json', 'print JSON')
    .action((id: string, opts: { json?: boolean }) => run((c) => sandboxInfo(c, id, opts, io)));

  sandbox
    .command('kill <id...>')
    .description('kill sandboxes')
    .option('--json', 'print {"killed": [...], "notFound": [...]}')
    .action((ids: string[], opts: { json?: boolean }) => run((c) => killSandboxes(c, ids, opts, io)));
  sandbox
    .command('pause <id...>')
    .description('pause sandboxes: frozen with their memory, processes and files until resumed')
    .option('--json', 'print {"paused": [...], "alreadyPaused": [...]}')
    .action((ids: string[], opts: { json?: boolean }) => run((c) => pauseSandboxes(c, ids, opts, io)));
  sandbox
    .command('resume <id...>')
    .description('resume paused sandboxes (a running one only gets its timeout extended)')
    .option('--timeout <seconds>', 'timeout from now (default the daemon\'s)')
    .option('--json', 'print {"resumed": [...], "running": [...]}')
    .action((ids: string[], opts: { json?: boolean; timeout?: string }) => run((c) => resumeSandboxes(c, ids, opts, io)));

  sandbox
    .command('logs <id>')
    .description("print a sandbox's log")
    .option('-f, --follow', 'keep printing new entries until the sandbox is gone (Ctrl-C stops)')
    .option('--json', 'one JSON object per line')
    .action((id: string, opts: { json?: boolean; follow?: boolean }) =>
      run((c) => {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        return sandboxLogs(c, id, opts, io, stop.signal);
      }),
    );

  sandbox
    .command('exec <id> <cmd...>')
    .description("run a command, stream its output, exit with its exit code (one argument is a shell line, several an argv): exec <id> -- <cmd...>")
    .option('--user <user>', 'run as this user (default: the template default, user)')
    .option('--cwd <dir>', 'working directory')
    .option('--env <K=V>', 'environment variable (repeatable)', collect)
    .action((id: string, cmd: string[], opts: { user?: string; cwd?: string; env?: string[] }) =>
      run((c) => execInSandbox(c, id, cmd, opts, { stdout: process.stdout, stderr: process.stderr })),
    );

  sandbox
    .command('shell <id>')
    .description('an interactive shell on a terminal in the sandbox; exits with its status')
    .option('--user <user>', 'log in as this user')
    .option('--cwd <dir>', 'working directory')
    .action((id: string, opts: { user?: string; cwd?: string }) => run((c) => sandboxShell(c, id, opts)));

  sandbox
    .command('cp <src> <dst>')
    .description('copy one file between here and a sandbox, <id>:<path> on one side (a directory as <dst> keeps the name)')
    .option('--user <user>', 'read or write the sandbox file as this user')
    .action((src: string, dst: string, opts: { user?: string }) => run((c) => copyFile(c, src, dst, { ...opts, progress: process.stderr })));
}
