import { existsSync, readFileSync } from 'node:fs';
import type { SandboxdConnection } from '@sandboxd/mcp';
import { runStdioServer } from '@sandboxd/mcp/stdio';
import type { Config } from '../config.js';
import { homeFiles } from './paths.js';

/** Idle timeout of `sandboxd mcp` when `--idle-timeout` names none, in seconds. */
export const DEFAULT_MCP_IDLE_TIMEOUT_SEC = 600;

/**
 * Where `sandboxd mcp` reaches the daemon: `E2B_API_URL`/`E2B_API_KEY`/`E2B_SANDBOX_URL` when set,
 * else the CLI's own configuration (`--host`/`--port`, `SANDBOXD_API_KEY`, the key file of the
 * first start in SANDBOXD_HOME).
 */
export function mcpConnection(config: Config, env: Record<string, string | undefined>): SandboxdConnection {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const apiUrl = env['E2B_API_URL'] || `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
  const keyFile = homeFiles(config).apiKeyFile;
  const apiKey = env['E2B_API_KEY'] || config.apiKey || (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '');
  if (!apiKey) {
    throw new Error(`no API key: set E2B_API_KEY (or SANDBOXD_API_KEY), or run \`sandboxd start\` once so ${keyFile} holds one`);
  }
  const sandboxUrl = env['E2B_SANDBOX_URL'] || undefined;
  return sandboxUrl ? { apiUrl, apiKey, sandboxUrl } : { apiUrl, apiKey };
}

/**
 * `sandboxd mcp`: an MCP server on stdin/stdout for one client, talking to a running daemon
 * through its public API. Ends on stdin EOF, SIGTERM or SIGINT, killing the session's sandboxes.
 */
export async function mcp(config: Config, env: Record<string, string | undefined>, options: { idleTimeoutSec?: string }): Promise<void> {
  const idleTimeoutSec = options.idleTimeoutSec === undefined ? DEFAULT_MCP_IDLE_TIMEOUT_SEC : Number(options.idleTimeoutSec);
  if (!Number.isInteger(idleTimeoutSec) || idleTimeoutSec < 0) throw new Error(`--idle-timeout must be a whole number of seconds (0: never), got ${options.idleTimeoutSec}`);
  const connection = mcpConnection(config, env);
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => stop.abort(new Error(`received ${signal}`)));
  // stdout carries the protocol: every diagnostic goes to stderr.
  await runStdioServer({
    connection,
    idleTimeoutMs: idleTimeoutSec * 1000,
    signal: stop.signal,
    onError: (error, what) => process.stderr.write(`sandboxd mcp: ${what} failed: ${error instanceof Error ? error.message : String(error)}\n`),
  });
  process.exit(0);
}
