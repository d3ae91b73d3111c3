import { z } from 'zod';
import type { BuildDefinition } from '../../templates/build-types.js';

/** E2B's CPUCount / MemoryMB bounds (cpuCount ≥ 1, memoryMB ≥ 128). */
const cpuCount = z.number().int().min(1).max(64);
const memoryMB = z.number().int().min(128).max(262_144);

/** `POST /v3/templates` (TemplateBuildRequestV3) and `POST /v2/templates` (V2: `alias`). */
export const templateRequestSchema = z
  .object({
    name: z.string().min(1).max(128).optional(),
    alias: z.string().min(1).max(128).optional(),
    tags: z.array(z.string().min(1).max(128)).max(32).optional(),
    teamID: z.string().optional(),
    cpuCount: cpuCount.optional(),
    memoryMB: memoryMB.optional(),
  })
  .refine((b) => b.name !== undefined || b.alias !== undefined, 'name is required');

const step = z.object({
  type: z.string().min(1).max(32),
  args: z.array(z.string().max(1024 * 1024)).max(4096).default([]),
  filesHash: z.string().max(128).optional(),
  force: z.boolean().optional(),
});

/** `POST /v2/templates/{id}/builds/{buildID}` (TemplateBuildStartV2). */
export const buildStartSchema = z
  .object({
    fromImage: z.string().min(1).max(512).optional(),
    fromTemplate: z.string().min(1).max(256).optional(),
    fromImageRegistry: z
      .object({ type: z.string(), username: z.string().optional(), password: z.string().optional() })
      .refine((r) => r.type === 'registry', 'only registry credentials (username/password) are supported here; AWS and GCP registries are not')
      .optional(),
    force: z.boolean().default(false),
    steps: z.array(step).max(1000).default([]),
    startCmd: z.string().max(64 * 1024).optional(),
    readyCmd: z.string().max(64 * 1024).optional(),
  })
  .transform(
    (b): BuildDefinition => ({
      ...(b.fromTemplate !== undefined ? { fromTemplate: b.fromTemplate } : b.fromImage !== undefined ? { fromImage: b.fromImage } : {}),
      ...(b.fromImageRegistry?.username !== undefined && b.fromImageRegistry.password !== undefined
        ? { registry: { username: b.fromImageRegistry.username, password: b.fromImageRegistry.password } }
        : {}),
      force: b.force,
      steps: b.steps.map((s) => ({ type: s.type, args: s.args, ...(s.filesHash !== undefined ? { filesHash: s.filesHash } : {}), ...(s.force !== undefined ? { force: s.force } : {}) })),
      ...(b.startCmd !== undefined ? { startCmd: b.startCmd } : {}),
      ...(b.readyCmd !== undefined ? { readyCmd: b.readyCmd } : {}),
    }),
  );

export const assignTagsSchema = z.object({ target: z.string().min(1), tags: z.array(z.string().min(1).max(128)).min(1) });
export const deleteTagsSchema = z.object({ name: z.string().min(1), tags: z.array(z.string().min(1).max(128)).min(1) });
