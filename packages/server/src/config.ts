import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { DEFAULT_POOL_MEMORY_MB, DEFAULT_POOL_SIZE, parsePoolSizes } from './pool/pool-config.js';
import { DEFAULT_APT_CACHE_MAX_MB } from './templates/apt-cache-prune.js';
import { DEFAULT_IDLE_TIMER_SLACK_MS } from './runtime/gvisor/idle-timers.js';

/** Validated daemon configuration, read once at start and passed down. */
export interface Config {
  /** TCP port of the single listener (REST + sandbox traffic). */
  port: number;
  host: string;
  /** State directory: SQLite database lives here. */
  home: string;
  /** An API key accepted in addition to the keys stored in the database (`e2b_` + 40 hex). */
  apiKey: string | undefined;
  /** Base domain of sandbox hosts (`<port>-<sandboxId>.<domain>`), returned as `domain`. */
  domain: string;
  /** Idle timeout of a sandbox when the create request names none, in seconds. */
  defaultTimeoutSec: number;
  /** Largest accepted sandbox timeout, in seconds. */
  maxTimeoutSec: number;
  /** Deadline of one `runtime.create`, in milliseconds. */
  createTimeoutMs: number;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /**
   * Port of a separate listener serving `GET /metrics` without an API key (its address is the
   * access control); undefined: none (`/metrics` on the main listener, key required, either way).
   */
  metricsPort: number | undefined;
  /** Address of the metrics listener; default `host`. */
  metricsHost: string | undefined;
  /**
   * Whether paused sandboxes move from memory to disk (after the grace period or under memory
   * pressure). On by default; a checkpoint runsc 20240729 refuses (a TCP connection the sandbox
   * itself opened is still open: docs/architecture.md) keeps the sandbox frozen in memory, and it
   * is tried again later. Off: paused sandboxes stay frozen in memory until resumed or killed.
   */
  pauseToDisk: boolean;
  /** How long a paused sandbox stays frozen in memory before it is checkpointed to disk, in seconds. */
  pauseMemoryGraceSec: number;
  /** Below this much available host memory (MiB), sandboxes frozen in memory go to disk at once. */
  pauseMinAvailableMB: number;
  /** Warm sandboxes kept per template name (`code-interpreter-v1=2,base=1`); empty: no pool. */
  poolSizes: Map<string, number>;
  /** Memory the pooled sandboxes may hold together, MiB (as measured once warm). */
  poolMemoryMB: number;
  /**
   * Whether each template is booted once, warmed and checkpointed, and cold creates and pool
   * refills restore that image instead of booting (default on).
   */
  templateSnapshots: boolean;
  /** Bound of the built-in template builds' shared apt archive cache, MiB (`templates/apt-cache-prune.ts`). */
  aptCacheMaxMB: number;
  /**
   * Timer slack of an idle sandbox's gVisor threads, milliseconds: an idle sandbox's sentry wakes
   * that much less often (`runtime/gvisor/idle-timers.ts`); 0: never coarsened.
   */
  idleTimerSlackMs: number;
}

/** Environment variable of every config key (flags use the key names themselves). */
export const CONFIG_ENV: Record<keyof Config, string> = {
  port: 'SANDBOXD_PORT',
  host: 'SANDBOXD_HOST',
  home: 'SANDBOXD_HOME',
  apiKey: 'SANDBOXD_API_KEY',
  domain: 'SANDBOXD_DOMAIN',
  defaultTimeoutSec: 'SANDBOXD_DEFAULT_TIMEOUT',
  maxTimeoutSec: 'SANDBOXD_MAX_TIMEOUT',
  createTimeoutMs: 'SANDBOXD_CREATE_TIMEOUT_MS',
  logLevel: 'SANDBOXD_LOG_LEVEL',
  metricsPort: 'SANDBOXD_METRICS_PORT',
  metricsHost: 'SANDBOXD_METRICS_HOST',
  pauseToDisk: 'SANDBOXD_PAUSE_TO_DISK',
  pauseMemoryGraceSec: 'SANDBOXD_PAUSE_MEMORY_GRACE_SEC',
  pauseMinAvailableMB: 'SANDBOXD_PAUSE_MIN_AVAILABLE_MB',
  poolSizes: 'SANDBOXD_POOL_SIZE',
  poolMemoryMB: 'SANDBOXD_POOL_MEMORY_MB',
  templateSnapshots: 'SANDBOXD_TEMPLATE_SNAPSHOTS',
  aptCacheMaxMB: 'SANDBOXD_APT_CACHE_MAX_MB',
  idleTimerSlackMs: 'SANDBOXD_IDLE_TIMER_SLACK_MS',
};

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z
  .object({
    port: int(0, 65535).default(3000),
    host: z.string().min(1).default('127.0.0.1'),
    home: z.string().refine(isAbsolute, 'must be an absolute path').default('/var/lib/sandboxd'),
    apiKey: z
      .string()
      .regex(/^e2b_[0-9a-f]{40}$/, 'must be "e2b_" followed by 40 lower-case hex characters')
      .optional(),
    domain: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, 'must be a lower-case DNS name')
      .default('sandboxd.local'),
    defaultTimeoutSec: int(1, 30 * 24 * 3600).default(300),
    maxTimeoutSec: int(1, 30 * 24 * 3600).default(24 * 3600),
    createTimeoutMs: int(1000, 3600_000).default(120_000),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    metricsPort: int(0, 65535).optional(),
    metricsHost: z.string().min(1).optional(),
    pauseToDisk: z
      .enum(['0', '1', 'true', 'false'])
      .default('1')
      .transform((v) => v === '1' || v === 'true'),
    pauseMemoryGraceSec: int(0, 30 * 24 * 3600).default(60),
    pauseMinAvailableMB: int(0, 1024 * 1024).default(1024),
    poolSizes: z
      .string()
      .default(DEFAULT_POOL_SIZE)
      .transform((spec, ctx) => {
        try {
          return parsePoolSizes(spec);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    poolMemoryMB: int(0, 1024 * 1024).default(DEFAULT_POOL_MEMORY_MB),
    templateSnapshots: z
      .enum(['0', '1', 'true', 'false', 'on', 'off'])
      .default('1')
      .transform((v) => v === '1' || v === 'true' || v === 'on'),
    aptCacheMaxMB: int(0, 1024 * 1024).default(DEFAULT_APT_CACHE_MAX_MB),
    idleTimerSlackMs: int(0, 1000).default(DEFAULT_IDLE_TIMER_SLACK_MS),
  })
  .refine((c) => c.defaultTimeoutSec <= c.maxTimeoutSec, {
    message: 'must not exceed the maximum timeout (SANDBOXD_MAX_TIMEOUT)',
    path: ['defaultTimeoutSec'],
  })
  .refine((c) => c.metricsHost === undefined || c.metricsPort !== undefined, {
    message: 'needs a metrics port (SANDBOXD_METRICS_PORT)',
    path: ['metricsHost'],
  });

/** Values given on the command line; they take precedence over the environment. */
export type ConfigFlags = Partial<Record<keyof Config, string | number | undefined>>;

/**
 * Builds the configuration from environment variables and optional flags.
 * Throws a SandboxdError (BAD_REQUEST) naming every invalid variable.
 *
 * @example
 * const config = loadConfig(process.env, { port: 3100 });
 */
export function loadConfig(env: Record<string, string | undefined>, flags: ConfigFlags = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(CONFIG_ENV) as (keyof Config)[]) {
    const value = flags[key] ?? env[CONFIG_ENV[key]];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof Config | undefined;
      const shown = key === 'apiKey' ? '<redacted>' : String(raw[key ?? 'port'] ?? 'unset');
      const name = key === undefined ? 'config' : `${CONFIG_ENV[key]} (${shown})`;
      return `${name}: ${issue.message}`;
    });
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return { ...parsed.data, apiKey: parsed.data.apiKey, metricsPort: parsed.data.metricsPort, metricsHost: parsed.data.metricsHost };
}
