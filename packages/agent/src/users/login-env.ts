import { watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { UserInfo } from './user-db.js';

/** What one run of `bash -l -c <script>` as a user printed and how it ended. */
export interface LoginShellResult {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs `bash -l -c <script>` as `user` with exactly `env`, in the user's home. */
export type LoginShellRunner = (user: UserInfo, env: Record<string, string>, script: string, signal: AbortSignal) => Promise<LoginShellResult>;

export interface LoginEnvCacheOptions {
  run: LoginShellRunner;
  /** Directory holding profile and profile.d (tests). */
  etcDir?: string;
  /** Users × environments remembered at once. */
  maxEntries?: number;
  /** A capture that takes longer is given up (and retried on the next command). */
  timeoutMs?: number;
  logger?: Logger;
}

/** Printed before the environment, so that anything a startup file prints is noticed. */
const MARKER = '__SANDBOXD_LOGIN_ENV__';
const CAPTURE_SCRIPT = `printf '%s\\0' '${MARKER}'; exec env -0`;
/** Variables bash itself sets in every shell: taken from the command's own input, never from the capture. */
const SHELL_MANAGED = new Set(['_', 'SHLVL', 'PWD', 'OLDPWD']);

/** The startup files (and the directories their stock versions test for) a login shell depends on. */
function watchedNames(etcDir: string, home: string): Array<{ dir: string; names: Set<string> | undefined }> {
  return [
    { dir: etcDir, names: new Set(['profile', 'profile.d', 'bash.bashrc']) },
    { dir: join(etcDir, 'profile.d'), names: undefined },
    { dir: home, names: new Set(['.bash_profile', '.bash_login', '.profile', '.bashrc', 'bin', '.local']) },
    { dir: join(home, '.local'), names: new Set(['bin']) },
  ];
}

/**
 * Parses a capture's stdout: the marker, then `env -0` output. Undefined when anything else was
 * printed (the startup files write to the terminal: then every command must really run them).
 */
export function parseCapture(stdout: Buffer): Record<string, string> | undefined {
  const head = Buffer.from(`${MARKER}\0`);
  if (stdout.length < head.length || !stdout.subarray(0, head.length).equals(head)) return undefined;
  const env: Record<string, string> = {};
  for (const entry of stdout.subarray(head.length).toString('utf8').split('\0')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) return undefined;
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** The captured login environment applied to a command's own input (bash's per-shell variables stay the input's). */
export function applyLoginEnv(login: Record<string, string>, input: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(login)) if (!SHELL_MANAGED.has(k)) env[k] = v;
  for (const k of SHELL_MANAGED) {
    const v = input[k];
    if (v !== undefined) env[k] = v;
  }
  return env;
}

/**
 * The environment a bash login shell ends up with, per user and input environment, computed once
 * (`bash -l -c 'env -0'`) and reused until a startup file changes (inotify on /etc/profile,
 * /etc/profile.d, the user's ~/.profile family and the ~/bin, ~/.local/bin the stock ~/.profile
 * tests for). A command run as `bash -l -c X` then runs as `bash -c X` with this environment: the
 * same variables, without reading the startup files again. Not cached (so commands keep the real
 * login shell): startup files that print anything or exit non-zero. What a login shell keeps
 * beyond exported variables (umask, ulimits, shell options set in ~/.profile) is not carried over.
 */
export class LoginEnvCache {
  private readonly entries = new Map<string, Promise<Record<string, string> | undefined>>();
  /** The captures that have finished, by key (what `peek` answers without waiting). */
  private readonly settled = new Map<string, Record<string, string> | undefined>();
  private readonly watchers = new Map<string, FSWatcher>();
  private generation = 0;
  private closed = false;
  private readonly etcDir: string;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;
  private readonly logger: Logger;

  constructor(private readonly options: LoginEnvCacheOptions) {
    this.etcDir = options.etcDir ?? '/etc';
    this.maxEntries = options.maxEntries ?? 32;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * The environment `bash -l` would leave for this user and input environment (bash's per-shell
   * variables excluded), or undefined when it cannot stand in for a real login shell.
   */
  async get(user: UserInfo, env: Record<string, string>): Promise<Record<string, string> | undefined> {
    if (this.closed) return undefined;
    const key = this.keyOf(user, env);
    const entry = this.entry(user, env, key);
    const generation = this.generation;
    const login = await entry;
    // A startup file changed while the capture ran: it may be stale.
    if (login === undefined || generation !== this.generation) return undefined;
    return applyLoginEnv(login, env);
  }

  /**
   * What `get` answers, without waiting: the environment when its capture has finished, else
   * undefined (the capture starts, or goes on, in the background; the caller runs a real login
   * shell meanwhile, which costs no more than waiting for the capture would).
   */
  peek(user: UserInfo, env: Record<string, string>): Record<string, string> | undefined {
    if (this.closed) return undefined;
    const key = this.keyOf(user, env);
    void this.entry(user, env, key);
    const login = this.settled.get(key);
    return login === undefined ? undefined : applyLoginEnv(login, env);
  }

  private keyOf(user: UserInfo, env: Record<string, string>): string {
    return JSON.stringify([user.uid, user.gid, user.name, user.home, Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
  }

  /** The capture of `key`, started when there is none (most recently used last). */
  private entry(user: UserInfo, env: Record<string, string>, key: string): Promise<Record<string, string> | undefined> {
    let entry = this.entries.get(key);
    if (entry) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      this.watchStartupFiles(user.home);
      entry = this.capture(user, env, key, this.generation);
      this.entries.set(key, entry);
      while (this.entries.size > this.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest === undefined) break;
        this.entries.delete(oldest);
        this.settled.delete(oldest);
      }
    }
    return entry;
  }

  private async capture(user: UserInfo, env: Record<string, string>, key: string, generation: number): Promise<Record<string, string> | undefined> {
    const started = performance.now();
    let result: LoginShellResult;
    try {
      result = await this.options.run(user, env, CAPTURE_SCRIPT, AbortSignal.timeout(this.timeoutMs));
    } catch (err) {
      // Transient (timeout, spawn failure): forget it so the next command tries again.
      this.logger.warn('login environment capture failed', { user: user.name, err });
      if (this.generation === generation) this.entries.delete(key);
      return undefined;
    }
    const login = result.code === 0 && result.stderr.length === 0 ? parseCapture(result.stdout) : undefined;
    // Only a capture of the current generation that is still remembered may be answered without waiting.
    if (this.generation === generation && this.entries.has(key)) this.settled.set(key, login);
    this.logger.info('login environment captured', {
      user: user.name,
      cached: login !== undefined,
      ms: Math.round(performance.now() - started),
      ...(login === undefined ? { code: result.code, stderrBytes: result.stderr.length } : {}),
    });
    return login;
  }

  private watchStartupFiles(home: string): void {
    for (const { dir, names } of watchedNames(this.etcDir, home)) {
      if (this.watchers.has(dir)) continue;
      let watcher: FSWatcher;
      try {
        watcher = watch(dir, { persistent: false }, (_event, name) => {
          if (names === undefined || name === null || names.has(name.toString())) this.invalidate();
        });
      } catch {
        // Absent now: its parent's watcher notices when it appears (or nothing depends on it).
        continue;
      }
      watcher.on('error', () => this.invalidate());
      this.watchers.set(dir, watcher);
    }
  }

  /** Forgets every captured environment (a startup file changed). */
  invalidate(): void {
    this.generation += 1;
    this.entries.clear();
    this.settled.clear();
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  close(): void {
    this.closed = true;
    this.invalidate();
  }
}
