import { z } from 'zod';
import { ALL_SCOPES } from '../../auth/scopes.js';

const scopes = z
  .array(z.enum(ALL_SCOPES as [string, ...string[]]), { error: `scopes must be an array of: ${ALL_SCOPES.join(', ')}` })
  .min(1, 'scopes names no scope');
const limit = z.number().int().min(1).max(2 ** 31 - 1);

/** `POST /keys`: a name, scopes (default admin) and quota limits (default none). */
export const CreateKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100).default('api'),
    scopes: scopes.optional(),
    quota: z.strictObject({ maxSandboxes: limit.optional(), maxTimeoutSec: limit.optional(), maxMemoryMB: limit.optional() }).optional(),
  })
  .strict();

/** `PATCH /keys/{id}`: new scopes and/or quota limits (null lifts one, left out keeps it). */
export const UpdateKeyBody = z
  .object({
    scopes: scopes.optional(),
    quota: z.strictObject({ maxSandboxes: limit.nullable().optional(), maxTimeoutSec: limit.nullable().optional(), maxMemoryMB: limit.nullable().optional() }).optional(),
  })
  .strict()
  .refine((b) => b.scopes !== undefined || b.quota !== undefined, 'give scopes or quota');
