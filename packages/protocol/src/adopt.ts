import { ErrorCode, SandboxdError } from './errors.js';

/**
 * The daemon's adopt route: `POST /adopt` on the agent's envd port, authenticated by
 * `Authorization: Bearer <AgentConfig.loopbackSecret>` (the per-sandbox daemon secret; the
 * sandbox's access token is never accepted). It makes a running agent become the sandbox the body
 * names: its id, access token, environment, default user and template. Used when the daemon
 * claims a pooled sandbox and after a sandbox is restored from an image.
 *
 * Ordered and idempotent by `generation`: a request with a higher generation than the agent's
 * replaces its identity; the same generation with the same identity answers 200 again without
 * doing anything; a lower generation, or the same one with another identity, answers 409.
 */
export interface AdoptRequest {
  /** Strictly increasing per sandbox (the agent starts at 0: its boot config). */
  generation: number;
  sandboxId: string;
  templateId: string;
  /** X-Access-Token the agent enforces from now on (and the key of signed /files URLs); null: none. */
  accessToken: string | null;
  /**
   * The sandbox's whole environment (template variables and the create request's `envVars`):
   * replaces envd's `/envs`, the environment of every process started after, and the environment
   * of the live code-interpreter kernels (applied before the response).
   */
  envVars: Record<string, string>;
  /** User that runs processes when a request names none. */
  defaultUser: string;
  /**
   * The daemon secret from now on (adopt, loopback forward); absent: unchanged. An agent restored
   * from an image still holds the secret of the sandbox that image was taken of: each sandbox
   * started from it gets its own.
   */
  loopbackSecret?: string;
  /**
   * The sandbox's hostname from now on (`uname -n`: a cold sandbox's is its id); absent: unchanged.
   * A restored kernel keeps the hostname of the sandbox its image was taken of.
   */
  hostname?: string;
}

/** What the agent answers on 200: the identity now in force. */
export interface AdoptResponse {
  generation: number;
  sandboxId: string;
  /** true: this request changed the identity; false: it was already in force (a retry). */
  applied: boolean;
}

export const Adopt = {
  path: '/adopt',
  method: 'POST',
  /** The `Authorization` value that carries the daemon secret. */
  authorization: (secret: string): string => `Bearer ${secret}`,
} as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** One DNS label: what `sethostname` is given (a sandbox id is one). */
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const bad = (message: string): SandboxdError => new SandboxdError(ErrorCode.BAD_REQUEST, `adopt request: ${message}`);

/** Validates an adopt body; throws BAD_REQUEST naming the first wrong field. */
export function parseAdoptRequest(value: unknown): AdoptRequest {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('expected a JSON object');
  const v = value as Record<string, unknown>;
  const { generation, sandboxId, templateId, accessToken, envVars, defaultUser, loopbackSecret, hostname } = v;
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 1) throw bad("'generation' must be a positive integer");
  if (typeof sandboxId !== 'string' || sandboxId === '') throw bad("'sandboxId' must be a non-empty string");
  if (typeof templateId !== 'string') throw bad("'templateId' must be a string");
  if (accessToken !== null && (typeof accessToken !== 'string' || accessToken === '')) throw bad("'accessToken' must be a non-empty string or null");
  if (typeof defaultUser !== 'string' || defaultUser === '') throw bad("'defaultUser' must be a non-empty string");
  if (typeof envVars !== 'object' || envVars === null || Array.isArray(envVars)) throw bad("'envVars' must be an object");
  if (loopbackSecret !== undefined && (typeof loopbackSecret !== 'string' || loopbackSecret.length < 16)) throw bad("'loopbackSecret' must be a string of at least 16 characters");
  if (hostname !== undefined && (typeof hostname !== 'string' || !HOSTNAME.test(hostname))) throw bad("'hostname' must be a host name (letters, digits, '-', at most 63)");
  const env: Record<string, string> = {};
  for (const [name, val] of Object.entries(envVars as Record<string, unknown>)) {
    if (!ENV_NAME.test(name)) throw bad(`invalid environment variable name ${JSON.stringify(name)}`);
    if (typeof val !== 'string') throw bad(`envVars.${name} must be a string`);
    env[name] = val;
  }
  return {
    generation,
    sandboxId,
    templateId,
    accessToken,
    envVars: env,
    defaultUser,
    ...(loopbackSecret !== undefined ? { loopbackSecret } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
  };
}

/** Whether two adopt requests name the same identity (generation aside). */
export function sameIdentity(a: Omit<AdoptRequest, 'generation'>, b: Omit<AdoptRequest, 'generation'>): boolean {
  if (a.sandboxId !== b.sandboxId || a.templateId !== b.templateId || a.accessToken !== b.accessToken || a.defaultUser !== b.defaultUser) return false;
  const ka = Object.keys(a.envVars);
  return ka.length === Object.keys(b.envVars).length && ka.every((k) => Object.hasOwn(b.envVars, k) && b.envVars[k] === a.envVars[k]);
}
