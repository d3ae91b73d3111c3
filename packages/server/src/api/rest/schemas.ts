import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * Input limits of the REST API (documented in packages/server/README.md):
 * - request body ≤ 1 MiB (413 otherwise);
 * - metadata ≤ 64 entries, keys 1–128 characters, values ≤ 1024 characters;
 * - envVars ≤ 256 entries, keys are shell names ([A-Za-z_][A-Za-z0-9_]*, ≤ 256 characters),
 *   values ≤ 32 KiB, at most 256 KiB in total;
 * - network.allowOut / denyOut ≤ 256 entries each, IPv4/IPv6 addresses or CIDRs (domain names answer
 *   400: not supported yet);
 * - timeout: whole seconds from 0 to the configured maximum (SANDBOXD_MAX_TIMEOUT, 24 h default).
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

/** A host name or `*.` wildcard, as E2B accepts in allowOut (matched there by Host header / SNI). */
const looksLikeDomain = (value: string): boolean => /^(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?$/.test(value) && /[A-Za-z]/.test(value);

const addressEntry = z.string().superRefine((value, ctx) => {
  if (isIpOrCidr(value)) return;
  ctx.addIssue({
    code: 'custom',
    message: looksLikeDomain(value)
      ? `domain entries (${value}) are not supported by this sandboxd server yet: use IP addresses or CIDRs`
      : 'must be an IP address or CIDR (e.g. 10.0.0.0/8)',
  });
});

const addressList = z.array(addressEntry).max(LIMITS.networkEntries);

/** Network options sandboxd does not implement yet: rejected rather than silently ignored. */
const unsupportedNetworkOption = (what: string) =>
  z.unknown().optional().refine((v) => v === undefined || v === null, `${what} is not supported by this sandboxd server yet`);

const networkEgress = {
  allowOut: addressList.nullish(),
  denyOut: addressList.nullish(),
  egressProxy: unsupportedNetworkOption('network.egressProxy'),
  rules: unsupportedNetworkOption('network.rules'),
};

/** Timeout in whole seconds, 0..max. */
export const timeoutSeconds = (max: number) =>
  z
    .number({ message: 'timeout must be a number of seconds' })
    .int('timeout must be a whole number of seconds')
    .min(0, 'timeout must not be negative')
    .max(max, `timeout must be at most ${max} seconds (SANDBOXD_MAX_TIMEOUT)`);

/** `NewSandboxV2` and `NewSandbox` (which adds `secure`). Unknown fields are ignored. */
export const newSandboxSchema = (maxTimeoutSec: number) =>
  z.object({
    templateID: z.string({ message: 'templateID is required' }).min(1, 'templateID must not be empty').max(256),
    timeout: timeoutSeconds(maxTimeoutSec).optional(),
    metadata: metadata.nullish(),
    envVars: envVars.nullish(),
    secure: z.boolean().nullish(),
    allow_internet_access: z.boolean().nullish(),
    network: z
      .object({
        ...networkEgress,
        allowPublicTraffic: z
          .boolean()
          .nullish()
          .refine((v) => v !== false, 'network.allowPublicTraffic: false (traffic access tokens) is not supported by this sandboxd server yet'),
        maskRequestHost: unsupportedNetworkOption('network.maskRequestHost'),
      })
      .nullish(),
  });

/** `PUT /sandboxes/{id}/network`: the sandbox's new egress policy (replaces the current one). */
export const networkUpdateSchema = z.object({ ...networkEgress, allow_internet_access: z.boolean().nullish() });

export const timeoutRequestSchema = (maxTimeoutSec: number) =>
  z.object({ timeout: timeoutSeconds(maxTimeoutSec) });

export const connectSchema = (maxTimeoutSec: number) =>
  z.object({ timeout: timeoutSeconds(maxTimeoutSec).optional() });
