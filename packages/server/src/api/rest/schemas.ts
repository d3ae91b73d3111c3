import { isIP } from 'node:net';
import { z } from 'zod';
import { isDomainEntry } from '../../egress/domain-match.js';

/**
 * Input limits of the REST API (documented in packages/server/README.md):
 * - request body ≤ 1 MiB (413 otherwise);
 * - metadata ≤ 64 entries, keys 1–128 characters, values ≤ 1024 characters;
 * - envVars ≤ 256 entries, keys are shell names ([A-Za-z_][A-Za-z0-9_]*, ≤ 256 characters),
 *   values ≤ 32 KiB, at most 256 KiB in total;
 * - network.allowOut / denyOut ≤ 256 entries each, IPv4/IPv6 addresses or CIDRs; allowOut also
 *   domain names (`example.com`, `*.example.com`), denyOut not (400);
 * - timeout: whole seconds up to the configured maximum (SANDBOXD_MAX_TIMEOUT, 24 h default); at
 *   least 1 on create (E2B: "Timeout must be greater than 0"), 0 allowed on set-timeout and connect.
 *
 * Every create option the official SDK can send is either implemented or answers 400 naming it
 * (never accepted and ignored): see `newSandboxSchema`.
 */
export const LIMITS = {
  bodyBytes: 1024 * 1024,
  metadataEntries: 64,
  metadataKeyChars: 128,
  metadataValueChars: 1024,
  envVarEntries: 256,
  envVarKeyChars: 256,
  envVarValueChars: 32 * 1024,
  envVarTotalChars: 256 * 1024,
  networkEntries: 256,
} as const;

const metadata = z
  .record(
    z.string().min(1, 'metadata keys must not be empty').max(LIMITS.metadataKeyChars),
    z.string().max(LIMITS.metadataValueChars),
  )
  .refine((m) => Object.keys(m).length <= LIMITS.metadataEntries, `at most ${LIMITS.metadataEntries} metadata entries`);

const envVars = z
  .record(
    z
      .string()
      .max(LIMITS.envVarKeyChars)
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'environment variable names must match [A-Za-z_][A-Za-z0-9_]*'),
    z.string().max(LIMITS.envVarValueChars).refine((v) => !v.includes('\0'), 'values must not contain NUL'),
  )
  .refine((e) => Object.keys(e).length <= LIMITS.envVarEntries, `at most ${LIMITS.envVarEntries} envVars entries`)
  .refine(
    (e) => Object.entries(e).reduce((n, [k, v]) => n + k.length + v.length, 0) <= LIMITS.envVarTotalChars,
    `envVars must total at most ${LIMITS.envVarTotalChars} characters`,
  );

function isIpOrCidr(value: string): boolean {
  const [ip, prefix, extra] = value.split('/');
  if (extra !== undefined || ip === undefined) return false;
  const family = isIP(ip);
  if (family === 0) return false;
  if (prefix === undefined) return true;
  const bits = Number(prefix);
  return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
}

/** A host name or `*.` wildcard (for the message of a deny entry that is a name). */
const looksLikeDomain = (value: string): boolean => /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$/.test(value) && /[A-Za-z]/.test(value);

/**
 * An allowOut entry: an address, a CIDR, or a domain name (`pypi.org`, `*.pythonhosted.org`),
 * which the daemon's domain filter matches by HTTP Host header on port 80 and TLS server name on
 * port 443, as E2B does.
 */
const allowEntry = z.string().superRefine((value, ctx) => {
  if (isIpOrCidr(value) || isDomainEntry(value)) return;
  ctx.addIssue({ code: 'custom', message: 'must be an IP address, a CIDR (e.g. 10.0.0.0/8) or a domain name (e.g. example.com, *.example.com)' });
});

/** A denyOut entry: addresses and CIDRs only (E2B: domain names are for allowOut). */
const denyEntry = z.string().superRefine((value, ctx) => {
  if (isIpOrCidr(value)) return;
  ctx.addIssue({
    code: 'custom',
    message: looksLikeDomain(value) ? `domain entries (${value}) are only allowed in allowOut: use IP addresses or CIDRs` : 'must be an IP address or CIDR (e.g. 10.0.0.0/8)',
  });
});

const NOT_SUPPORTED = 'is not supported by this sandboxd server';

/** An option sandboxd does not implement: only absent or null passes, anything else answers 400 naming it. */
const unsupported = (what: string) =>
  z.unknown().optional().refine((v) => v === undefined || v === null, `${what} ${NOT_SUPPORTED} yet`);

/**
 * An optional list (`[]`) or map (`{}`) option whose empty value asks for nothing; a non-empty
 * one answers 400 naming it.
 */
const unsupportedUnlessEmpty = (name: string, kind: 'list' | 'map', what: string) =>
  z
    .unknown()
    .optional()
    .superRefine((v, ctx) => {
      if (v === undefined || v === null) return;
      const isList = Array.isArray(v);
      if (kind === 'list' ? !isList : isList || typeof v !== 'object') {
        ctx.addIssue({ code: 'custom', message: `${name} must be ${kind === 'list' ? 'an array' : 'an object'}` });
      } else if (Object.keys(v as object).length > 0) {
        ctx.addIssue({ code: 'custom', message: `${name} (${what}) ${NOT_SUPPORTED} yet` });
      }
    });

/** The egress fields shared by create (`network.*`, prefix `network.`) and the network update (top level). */
const networkEgress = (prefix: '' | 'network.') => ({
  allowOut: z.array(allowEntry).max(LIMITS.networkEntries).nullish(),
  denyOut: z.array(denyEntry).max(LIMITS.networkEntries).nullish(),
  egressProxy: unsupported(`${prefix}egressProxy (SOCKS5 egress proxy)`),
  rules: unsupportedUnlessEmpty(`${prefix}rules`, 'map', 'per-domain request transforms'),
});

/** Whole seconds up to `max`; `min` is 0 for set-timeout and connect, 1 for create (as E2B). */
const seconds = (max: number, min: 0 | 1) =>
  z
    .number({ message: 'timeout must be a number of seconds' })
    .int('timeout must be a whole number of seconds')
    .min(min, min === 0 ? 'timeout must not be negative' : 'timeout must be greater than 0')
    .max(max, `timeout must be at most ${max} seconds (SANDBOXD_MAX_TIMEOUT)`);

/** Timeout in whole seconds, 0..max (set-timeout, connect: 0 lets the sandbox expire now / changes nothing). */
export const timeoutSeconds = (max: number) => seconds(max, 0);

/** Timeout of a new sandbox in whole seconds, 1..max: E2B answers 400 for 0 and negative values. */
export const createTimeoutSeconds = (max: number) => seconds(max, 1);

/**
 * `NewSandboxV2` and `NewSandbox` (which adds `secure`). Every field of E2B's NewSandbox and of
 * the official SDK's request is listed: implemented ones are validated and applied; the rest
 * answer 400 naming the option unless absent or a value that asks for nothing (`autoPause:
 * false`, `autoResume: {enabled: false}`, empty `volumeMounts`/`rules`/`iam.tokens`, ...).
 * Fields no SDK sends are ignored.
 */
export const newSandboxSchema = (maxTimeoutSec: number) =>
  z.object({
    templateID: z.string({ message: 'templateID is required' }).min(1, 'templateID must not be empty').max(256),
    timeout: createTimeoutSeconds(maxTimeoutSec).optional(),
    metadata: metadata.nullish(),
    envVars: envVars.nullish(),
    secure: z.boolean().nullish(),
    allow_internet_access: z.boolean().nullish(),
    // SDK: `lifecycle.onTimeout` → autoPause (false for 'kill', true for 'pause').
    autoPause: z.boolean({ message: 'autoPause must be a boolean' }).nullish(),
    // SDK: `lifecycle.onTimeout.keepMemory` (false: the timeout's pause keeps only the filesystem).
    autoPauseMemory: z.boolean({ message: 'autoPauseMemory must be a boolean' }).nullish(),
    // SDK: `lifecycle.autoResume`.
    autoResume: z.object({ enabled: z.boolean({ message: 'autoResume.enabled must be a boolean' }) }).nullish(),
    // E2B's API takes `mcp` (an object or null) and only records the server names; the SDK then
    // starts `mcp-gateway` in the sandbox itself (and kills the sandbox when that fails).
    mcp: z
      .unknown()
      .optional()
      .refine((v) => v === undefined || v === null || (typeof v === 'object' && !Array.isArray(v)), 'mcp must be an object'),
    iam: z
      .object({ tokens: unsupportedUnlessEmpty('iam.tokens', 'map', 'workload identity tokens') })
      .nullish(),
    volumeMounts: unsupportedUnlessEmpty('volumeMounts', 'list', 'persistent volumes'),
    network: z
      .object({
        ...networkEgress('network.'),
        allowPublicTraffic: z.boolean({ message: 'network.allowPublicTraffic must be a boolean' }).nullish(),
        maskRequestHost: z
          .string({ message: 'network.maskRequestHost must be a string' })
          .max(253, 'network.maskRequestHost must be a host name of at most 253 characters')
          .regex(/^[A-Za-z0-9.${}:-]+$/, 'network.maskRequestHost must be a host name (optionally with ${PORT} and a :port)')
          .nullish(),
        httpsPorts: unsupportedUnlessEmpty('network.httpsPorts', 'list', 'HTTPS to sandbox ports'),
      })
      .nullish(),
  })
  .refine((b) => b.autoResume?.enabled !== true || b.autoPause === true, {
    message: 'autoResume (lifecycle.autoResume: true) requires autoPause: true (lifecycle.onTimeout: \'pause\')',
    path: ['autoResume'],
  })
  .refine((b) => b.autoPauseMemory !== false || b.autoPause === true, {
    message: 'autoPauseMemory: false (lifecycle.onTimeout.keepMemory: false) requires autoPause: true (lifecycle.onTimeout: \'pause\')',
    path: ['autoPauseMemory'],
  })
  .refine((b) => b.autoResume?.enabled !== true || b.autoPauseMemory !== false, {
    message: 'autoResume (lifecycle.autoResume: true) cannot be combined with autoPauseMemory: false (keepMemory: false): a filesystem-only pause is resumed by connect only',
    path: ['autoResume'],
  });

/**
 * `PUT /sandboxes/{id}/network` (E2B's SandboxNetworkUpdateConfig): the sandbox's new egress
 * policy. It replaces the current one whole: an omitted field is cleared (no allowOut, no
 * denyOut, internet access on). Entries are validated as on create.
 */
export const networkUpdateSchema = z.object({
  ...networkEgress(''),
  allow_internet_access: z.boolean({ message: 'allow_internet_access must be a boolean' }).nullish(),
});

/** `POST /sandboxes/{id}/timeout`: E2B requires `timeout` (integer, minimum 0). */
export const timeoutRequestSchema = (maxTimeoutSec: number) =>
  z.object({ timeout: timeoutSeconds(maxTimeoutSec) });

/** E2B's cap on `SandboxRefreshRequest.duration` (openapi `maximum: 3600`). */
export const REFRESH_MAX_DURATION_SEC = 3600;

/**
 * `POST /sandboxes/{id}/refreshes` (E2B's SandboxRefreshRequest): optional `duration`, whole
 * seconds 0..3600. The body itself is optional (an empty body is `{}`).
 */
export const refreshRequestSchema = z.object({
  duration: z
    .number({ message: 'duration must be a number of seconds' })
    .int('duration must be a whole number of seconds')
    .min(0, 'duration must not be negative')
    .max(REFRESH_MAX_DURATION_SEC, `duration must be at most ${REFRESH_MAX_DURATION_SEC} seconds`)
    .nullish(),
});

/**
 * `POST /(v2/)sandboxes/{id}/connect`: `timeout` 0..max (the SDK omits it when no timeoutMs is
 * given: the route's default applies). `memory` is accepted and ignored: how a sandbox resumes
 * follows how it was paused (with its memory, or booted again after a filesystem-only pause).
 */
export const connectSchema = (maxTimeoutSec: number) =>
  z.object({ timeout: timeoutSeconds(maxTimeoutSec).optional(), memory: z.boolean({ message: 'memory must be a boolean' }).nullish() });

/**
 * `POST /sandboxes/{id}/pause` (E2B's SandboxPauseRequest, body optional): `memory: false` is a
 * filesystem-only pause (the container stops; a resume boots it again on the same filesystem).
 */
export const pauseRequestSchema = z.object({
  memory: z.boolean({ message: 'memory must be a boolean' }).nullish(),
});

/** `POST /sandboxes/{id}/resume` (deprecated; E2B's ResumedSandbox): `timeout` 0..max, `autoPause` ignored. */
export const resumeRequestSchema = (maxTimeoutSec: number) =>
  z.object({ timeout: timeoutSeconds(maxTimeoutSec).optional(), autoPause: z.boolean().nullish() });

/** `POST /sandboxes/{id}/snapshots` (E2B's SandboxSnapshotRequest): an optional name. */
export const snapshotRequestSchema = z.object({
  name: z.string({ message: 'name must be a string' }).min(1, 'name must not be empty').max(128).regex(/^[a-zA-Z0-9._-]+$/, 'name may hold letters, digits, ".", "_" and "-" only').nullish(),
});

/** `POST /sandboxes/{id}/fork` (E2B's SandboxForkRequest): `timeout` (s, default 15) and `count` 1..100 (default 1). */
export const forkRequestSchema = (maxTimeoutSec: number) =>
  z.object({
    timeout: z.number({ message: 'timeout must be a number' }).int().min(0).max(maxTimeoutSec).nullish(),
    count: z.number({ message: 'count must be a number' }).int().min(1, 'count must be at least 1').max(100, 'count must be at most 100').nullish(),
  });
