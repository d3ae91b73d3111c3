import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import { createFsTemplateStore } from '../templates/fs-template-store.js';
import { DAEMON_ENTRY, homeFiles } from './paths.js';
import { buildTemplatesWithProgress, builtInTemplateNames } from './template-progress.js';

type Print = (line: string) => void;

/** The PID in the pid file when that process is alive. */
export function runningPid(config: Config): number | undefined {
  const { pidFile } = homeFiles(config);
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

function apiKeyOf(config: Config): string | undefined {
  if (config.apiKey) return config.apiKey;
  const { apiKeyFile } = homeFiles(config);
  return existsSync(apiKeyFile) ? readFileSync(apiKeyFile, 'utf8').trim() : undefined;
}

async function answers(url: string, apiKey: string | undefined): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v2/sandboxes?limit=1`, { headers: apiKey ? { 'X-API-KEY': apiKey } : {}, signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status === 200 || res.status === 401;
  } catch {
    return false;
  }
}

/**
 * `sandboxd start`: builds the built-in templates when absent (with progress), starts the daemon in
 * the background unless it already runs, waits until it answers, and prints how to use it.
 */
export async function start(config: Config, print: Print, options: { timeoutMs?: number } = {}): Promise<void> {
  mkdirSync(config.home, { recursive: true, mode: 0o700 });
  const files = homeFiles(config);
  const url = `http://${config.host}:${config.port}`;
  await buildTemplatesWithProgress(createFsTemplateStore(files.templatesDir, undefined, { aptCacheMaxMB: config.aptCacheMaxMB }), builtInTemplateNames(), print);
  let pid = runningPid(config);
  if (pid === undefined) {
    const log = openSync(files.logFile, 'a');
    const child = spawn(process.execPath, [DAEMON_ENTRY, 'serve'], { detached: true, stdio: ['ignore', log, log], env: process.env });
    child.unref();
    pid = child.pid;
    print(`starting the daemon (pid ${pid}, log ${files.logFile})`);
  } else {
    print(`the daemon is already running (pid ${pid})`);
  }
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await answers(url, apiKeyOf(config)))) {
    if (Date.now() > deadline) {
      const tail = existsSync(files.logFile) ? readFileSync(files.logFile, 'utf8').slice(-3000) : '';
      throw new Error(`the daemon did not answer on ${url} within ${options.timeoutMs ?? 60_000} ms; log tail:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const apiKey = apiKeyOf(config) ?? '<create one with: sandboxd keys create>';
  print('');
  print(`sandboxd is ready at ${url}`);
  print(`API key: ${apiKey}`);
  print(`Dashboard: ${url}/dashboard (sign in with the API key)`);
  print('');
  print('Point the official E2B SDKs at it:');
  print(`export E2B_API_URL=${url}`);
  print(`export E2B_SANDBOX_URL=${url}`);
  print(`export E2B_API_KEY=${apiKey}`);
}

/** `sandboxd stop`: SIGTERM to the background daemon; sandboxes keep running for the next start. */
export async function stop(config: Config, print: Print): Promise<void> {
  const pid = runningPid(config);
  if (pid === undefined) {
    print('the daemon is not running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (runningPid(config) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  print(runningPid(config) === undefined ? `stopped (pid ${pid})` : `pid ${pid} did not stop within 15 s`);
}
