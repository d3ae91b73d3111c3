import { Sandbox, type Context } from '@e2b/code-interpreter';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { sdkOptions, type SandboxdConnection } from './connection.js';
import { IdleTimer } from './idle-timer.js';

/** Languages of the code interpreter that sandboxd's template serves. */
export const CODE_LANGUAGES = ['python', 'javascript', 'typescript', 'bash'] as const;
export type CodeLanguage = (typeof CODE_LANGUAGES)[number];

/** Metadata key that marks the sandboxes an MCP session created (value: the session's label). */
export const MCP_METADATA_KEY = 'sandboxd-mcp-session';

export interface CreateSandboxInput {
  /** Template name or id; the official code-interpreter SDK's default (`code-interpreter-v1`) when absent. */
  template?: string;
  /** Seconds the sandbox lives without use; every tool call on it extends it again by this much. */
  timeoutSec?: number;
  /** Egress to the internet (default on). */
  internet?: boolean;
}

export interface McpSessionOptions {
  connection: SandboxdConnection;
  /** After this long without a tool call the session's sandboxes are killed (0: never). */
  idleTimeoutMs: number;
  /** Recorded in the sandboxes' metadata, to recognise them in the REST list. */
  label: string;
  /** Called when the session went idle, after its sandboxes were released. */
  onIdle?: () => void;
  /** Where background failures (a kill or a timeout extension that failed) are reported. */
  onError?: (error: unknown, what: string) => void;
}

interface Owned {
  sandbox: Sandbox;
  timeoutMs: number;
  extendedAt: number;
}

/** A use extends an owned sandbox's deadline when it was last extended this long ago (or a quarter of its timeout). */
const EXTEND_MAX_STALE_MS = 60_000;
/** Timeout of a default sandbox when the session never goes idle (`idleTimeoutMs` 0); uses extend it. */
const NO_IDLE_SANDBOX_TIMEOUT_MS = 3600_000;

/**
 * The sandboxes of one MCP session. The default sandbox is created on first use and reused; an
 * explicit `create` returns a sandbox addressable by id (the first sandbox becomes the default).
 * Every sandbox the session created is killed by `release()`/`close()` and when it goes idle.
 *
 * @example
 * const session = new McpSession({ connection, idleTimeoutMs: 600_000, label: 'stdio' });
 * await session.use(undefined, (sbx) => sbx.commands.run('echo hi'));
 * await session.close();
 */
export class McpSession {
  private readonly owned = new Map<string, Owned>();
  private readonly connected = new Map<string, Sandbox>();
  private readonly contexts = new Map<string, Promise<Context>>();
  private defaultId: string | undefined;
  private creating: Promise<Sandbox> | undefined;
  private closed = false;
  private readonly idle: IdleTimer;

  constructor(private readonly options: McpSessionOptions) {
    this.idle = new IdleTimer(options.idleTimeoutMs, () => {
      void this.release().finally(() => options.onIdle?.());
    });
  }

  /** The id of the default sandbox, when one exists. */
  get defaultSandboxId(): string | undefined {
    return this.defaultId;
  }

  /** Ids of the live sandboxes this session created. */
  ownedSandboxIds(): string[] {
    return [...this.owned.keys()];
  }

  /** Creates a sandbox owned by this session; the first one becomes the default. */
  async create(input: CreateSandboxInput, options: { signal?: AbortSignal } = {}): Promise<Sandbox> {
    const end = this.begin();
    try {
      return await this.createOwned(input, options);
    } finally {
      end();
    }
  }

  /**
   * Runs `fn` with the sandbox `sandboxId` (any sandbox the API key reaches) or, without an id,
   * the default sandbox (created now when there is none), and extends the deadline of a sandbox
   * this session owns.
   */
  async use<T>(sandboxId: string | undefined, fn: (sandbox: Sandbox) => Promise<T>, options: { signal?: AbortSignal } = {}): Promise<T> {
    const end = this.begin();
    try {
      const sandbox = await this.resolve(sandboxId, options);
      this.extend(sandbox.sandboxId);
      try {
        return await fn(sandbox);
      } catch (error) {
        throw await this.explain(sandbox, error);
      } finally {
        this.extend(sandbox.sandboxId);
      }
    } finally {
      end();
    }
  }

  /**
   * The code context named `name` for `language` in `sandbox`, created on first use. Without a
   * name the language's default context serves (undefined).
   */
  async context(sandbox: Sandbox, language: CodeLanguage, name: string | undefined): Promise<Context | undefined> {
    if (name === undefined) return undefined;
    const key = `${sandbox.sandboxId}\u0000${language}\u0000${name}`;
    let context = this.contexts.get(key);
    if (!context) {
      context = sandbox.createCodeContext({ language });
      this.contexts.set(key, context);
      context.catch(() => this.contexts.delete(key));
    }
    return context;
  }

  /** Kills `sandboxId`, or the default sandbox; false when there was nothing to kill. */
  async kill(sandboxId: string | undefined): Promise<{ sandboxId: string; killed: boolean }> {
    const end = this.begin();
    try {
      const id = sandboxId ?? this.defaultId;
      if (id === undefined) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'this session has no default sandbox yet; pass `sandboxId`');
      this.forget(id);
      const killed = await Sandbox.kill(id, sdkOptions(this.options.connection));
      return { sandboxId: id, killed };
    } finally {
      end();
    }
  }

  /** Kills every sandbox this session created; the session stays usable (a new default is created on next use). */
  async release(): Promise<void> {
    const creating = this.creating;
    if (creating) await creating.catch(() => undefined);
    const ids = [...this.owned.keys()];
    for (const id of ids) this.forget(id);
    const results = await Promise.allSettled(ids.map((id) => Sandbox.kill(id, sdkOptions(this.options.connection))));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.options.onError?.(r.reason, `kill sandbox ${ids[i]}`);
    });
  }

  /** Releases the sandboxes and refuses further use. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.idle.stop();
    await this.release();
  }

  private begin(): () => void {
    if (this.closed) throw new SandboxdError(ErrorCode.CONFLICT, 'this MCP session is closed');
    return this.idle.begin();
  }

  private async resolve(sandboxId: string | undefined, options: { signal?: AbortSignal }): Promise<Sandbox> {
    if (sandboxId !== undefined) {
      const known = this.owned.get(sandboxId)?.sandbox ?? this.connected.get(sandboxId);
      if (known) return known;
      const sandbox = await Sandbox.connect(sandboxId, { ...sdkOptions(this.options.connection), ...options });
      this.connected.set(sandboxId, sandbox);
      return sandbox;
    }
    if (this.defaultId !== undefined) {
      const sandbox = this.owned.get(this.defaultId)?.sandbox;
      if (sandbox) return sandbox;
    }
    return this.creating ?? this.createOwned({}, options);
  }

  private async createOwned(input: CreateSandboxInput, options: { signal?: AbortSignal }): Promise<Sandbox> {
    const idleMs = this.options.idleTimeoutMs;
    const timeoutMs = input.timeoutSec !== undefined ? input.timeoutSec * 1000 : idleMs > 0 ? idleMs + EXTEND_MAX_STALE_MS : NO_IDLE_SANDBOX_TIMEOUT_MS;
    const opts = {
      ...sdkOptions(this.options.connection),
      timeoutMs,
      allowInternetAccess: input.internet ?? true,
      metadata: { [MCP_METADATA_KEY]: this.options.label },
      ...options,
    };
    const pending = input.template === undefined ? Sandbox.create(opts) : Sandbox.create(input.template, opts);
    const isDefault = this.defaultId === undefined && this.creating === undefined;
    if (isDefault) this.creating = pending;
    try {
      const sandbox = await pending;
      if (this.closed) {
        await sandbox.kill().catch((error: unknown) => this.options.onError?.(error, `kill sandbox ${sandbox.sandboxId}`));
        throw new SandboxdError(ErrorCode.CONFLICT, 'this MCP session closed while the sandbox was being created');
      }
      this.owned.set(sandbox.sandboxId, { sandbox, timeoutMs, extendedAt: Date.now() });
      if (this.defaultId === undefined) this.defaultId = sandbox.sandboxId;
      return sandbox;
    } finally {
      if (isDefault) this.creating = undefined;
    }
  }

  /**
   * After a failed call: when the sandbox has ended (its timeout, a kill from elsewhere), forget
   * it, so that without `sandboxId` the next call gets a new default sandbox, and say so.
   */
  private async explain(sandbox: Sandbox, error: unknown): Promise<unknown> {
    const running = await sandbox.isRunning({ requestTimeoutMs: 5_000 }).catch(() => true);
    if (running) return error;
    const wasDefault = this.defaultId === sandbox.sandboxId;
    this.forget(sandbox.sandboxId);
    const message = error instanceof Error ? error.message : String(error);
    return new SandboxdError(
      ErrorCode.SANDBOX_NOT_FOUND,
      `sandbox ${sandbox.sandboxId} has ended (${message})${wasDefault ? '; the next call without `sandboxId` creates a new default sandbox' : ''}`,
      { cause: error },
    );
  }

  /**
   * Keeps an owned sandbox's deadline at least its timeout minus EXTEND_MAX_STALE_MS after every
   * use, so the default sandbox (timeout: idle timeout + that margin) outlives the idle timer.
   */
  private extend(sandboxId: string): void {
    const owned = this.owned.get(sandboxId);
    if (!owned || Date.now() - owned.extendedAt < Math.min(EXTEND_MAX_STALE_MS, owned.timeoutMs / 4)) return;
    owned.extendedAt = Date.now();
    owned.sandbox.setTimeout(owned.timeoutMs).catch((error: unknown) => this.options.onError?.(error, `extend sandbox ${sandboxId}`));
  }

  private forget(sandboxId: string): void {
    this.owned.delete(sandboxId);
    this.connected.delete(sandboxId);
    if (this.defaultId === sandboxId) this.defaultId = undefined;
    for (const key of this.contexts.keys()) if (key.startsWith(`${sandboxId}\u0000`)) this.contexts.delete(key);
  }
}
