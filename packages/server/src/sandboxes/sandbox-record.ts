import type { EgressPolicy } from '../domain/egress-policy.js';
import type { SandboxLimits } from '../domain/sandbox-limits.js';

/**
 * Lifecycle of a sandbox as the daemon tracks it. `running` sandboxes are visible to the API and
 * reachable through the proxy; `paused` ones are listed and resumed by connect (or, with
 * autoResume, by their traffic); the terminal states are kept for the record.
 */
export type SandboxState = 'creating' | 'running' | 'paused' | 'killed' | 'expired' | 'failed' | 'gone' | 'died';

/** E2B's `lifecycle` of a sandbox (create body `autoPause` / `autoResume`). */
export interface SandboxLifecycle {
  /** What happens at the end time: the sandbox is killed, or paused (its memory kept). */
  onTimeout: 'kill' | 'pause';
  /** A paused sandbox resumes on its own when traffic for it reaches the proxy. */
  autoResume: boolean;
  /** false: the timeout's pause keeps only the filesystem (E2B's `keepMemory: false`); absent: memory too. */
  keepMemory?: boolean;
  /** The timeout a resume by traffic gives it, in seconds: the create request's, at least 300 (as E2B). */
  timeoutSec: number;
}

/** Why a sandbox stopped being reachable. */
export type EndReason = 'killed' | 'expired' | 'failed' | 'gone' | 'died';

/** E2B's ingress options of a sandbox. */
export interface SandboxIngress {
  /**
   * `allowPublicTraffic: false`: the proxy requires this as `e2b-traffic-access-token` on every
   * port but envd's (which has its own access token). null: the ports are public.
   */
  trafficAccessToken: string | null;
  /** The Host header the sandbox's servers see (`${PORT}` replaced by the port); null: unchanged. */
  maskRequestHost: string | null;
  /**
   * The agent's `loopbackSecret`: the proxy retries a refused port on the sandbox's loopback
   * through the agent with it. Absent on sandboxes started before it existed (no retry).
   */
  loopbackSecret?: string;
}

/** Everything the daemon knows about one sandbox; persisted in the `sandboxes` table. */
export interface SandboxRecord {
  sandboxId: string;
  templateId: string;
  /** The template name the create request used (`base`, `code-interpreter-v1`, …). */
  templateAlias: string;
  rootfsPath: string;
  metadata: Record<string, string>;
  envVars: Record<string, string>;
  /** Required by the agent as X-Access-Token and signs /files URLs; null = no token. */
  accessToken: string | null;
  /** Host-reachable address of the sandbox; null until the runtime started it. */
  address: string | null;
  limits: SandboxLimits;
  egress: EgressPolicy;
  /** How the sandbox's own ports are reached through the proxy (E2B's network ingress). */
  ingress?: SandboxIngress;
  /** Absent on sandboxes created before it existed: killed at timeout, never resumed by traffic. */
  lifecycle?: SandboxLifecycle;
  /** Unix milliseconds. */
  startedAt: number;
  /** Unix milliseconds at which the reaper kills the sandbox. */
  endAt: number;
  state: SandboxState;
  /**
   * Id of the API key that created the sandbox (`auth/api-keys.ts`); only it (and admin keys)
   * see the sandbox. null: created before ownership existed (admin keys only).
   */
  ownerKeyId?: string | null;
}
