/** The registry of contexts: the default one per language and any created on demand. */
import type { OomKill } from '../memory/memory-guard.js';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { ContextInfo } from '@sandboxd/protocol';
import { Context } from './context.js';
import { kernelSpecFor, normalizeLanguage } from './languages.js';
import type { UserInfo } from './user.js';

export interface ContextsOptions {
  user: UserInfo;
  env: Record<string, string>;
  runtimeDir: string;
  /** Tells whether the sandbox's memory guard killed a process (to name out-of-memory deaths). */
  oomKillOf?: (pid: number) => OomKill | undefined;
  /** Mirror kernels' stdout/stderr to the agent's stderr. */
  kernelDebug?: boolean;
}

export class Contexts {
  private readonly byId = new Map<string, Context>();
  private readonly defaults = new Map<string, Context>();

  constructor(private readonly options: ContextsOptions) {}

  /**
   * Creates a context and starts its kernel; rejects if the kernel cannot start before `signal`
   * (the request's deadline) aborts.
   */
  async create(language: string | null | undefined, cwd: string | null | undefined, options: { signal?: AbortSignal } = {}): Promise<Context> {
    const context = this.add(normalizeLanguage(language), await this.usableCwd(cwd));
    try {
      await context.ready(options);
    } catch (error) {
      await this.remove(context.id);
      throw error;
    }
    return context;
  }

  /**
   * The per-language default context, created on first use (without waiting for the kernel). With
   * `lazy`, its kernel starts only when the context is first used (listed, it is there already).
   */
  async defaultFor(language: string | null | undefined, options: { lazy?: boolean } = {}): Promise<Context> {
    const name = normalizeLanguage(language);
    let context = this.defaults.get(name);
    if (!context) {
      context = this.add(name, this.options.user.home, options.lazy === true);
      this.defaults.set(name, context);
    }
    return context;
  }

  /** A context by id; `default` names the default python context (as in E2B). */
  get(id: string): Context | undefined {
    return this.byId.get(id) ?? (id === 'default' ? this.defaults.get('python') : undefined);
  }

  list(): ContextInfo[] {
    return [...this.byId.values()].map((context) => context.info());
  }

  async remove(id: string): Promise<boolean> {
    const context = this.byId.get(id);
    if (!context) return false;
    this.byId.delete(id);
    for (const [language, candidate] of this.defaults) if (candidate === context) this.defaults.delete(language);
    await context.close();
    return true;
  }

  /**
   * Makes `user` and `env` those of every kernel: live kernels get `env` (under their context's
   * lock, after any warm-up) or, for another user, are restarted; later kernels start with them.
   */
  async adopt(user: UserInfo, env: Record<string, string>, reseed = false): Promise<void> {
    this.options.user = user;
    this.options.env = env;
    await Promise.all([...this.byId.values()].map((context) => context.adopt(user, env, reseed)));
  }

  async closeAll(): Promise<void> {
    const all = [...this.byId.keys()];
    await Promise.all(all.map((id) => this.remove(id)));
  }

  private add(language: string, cwd: string, lazy = false): Context {
    const spec = kernelSpecFor(language);
    if (spec === undefined) throw new SandboxdError(ErrorCode.BAD_REQUEST, `Unsupported language: ${language}`);
    const context = new Context({ id: randomUUID(), language, cwd, spec, ...this.options, lazy });
    this.byId.set(context.id, context);
    return context;
  }

  /** The requested cwd when it is a directory, else the user's home (as `%cd` failing would leave it). */
  private async usableCwd(cwd: string | null | undefined): Promise<string> {
    const wanted = cwd || this.options.user.home;
    const isDir = await stat(wanted).then(
      (s) => s.isDirectory(),
      () => false,
    );
    return isDir ? wanted : this.options.user.home;
  }
}
