import { createHash } from 'node:crypto';
import type { BuildContext, BuildStep } from './build-types.js';

/**
 * The cache key of a step's layer: the key of what it runs on (base, then every step before it),
 * the step itself (type, arguments, the hash of the files it copies) and the context it runs in
 * (user, working directory, environment). Equal keys mean equal inputs, so the layer is reused.
 */
export function stepKey(parentKey: string, step: BuildStep, context: BuildContext): string {
  const env = Object.entries(context.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify({
    parent: parentKey,
    type: step.type.toUpperCase(),
    args: step.args,
    files: step.filesHash ?? null,
    user: context.user,
    workdir: context.workdir,
    env,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

/** The key a build starts from: its base template's root, or an image's digest. */
export function baseKey(kind: 'template' | 'image', identity: string): string {
  return createHash('sha256').update(`${kind}\0${identity}`).digest('hex').slice(0, 32);
}
