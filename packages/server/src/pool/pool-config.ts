import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/** `SANDBOXD_POOL_SIZE` when unset: this 2-core box keeps two warm code interpreters and one base sandbox. */
export const DEFAULT_POOL_SIZE = 'code-interpreter-v1=2,base=1';
/** `SANDBOXD_POOL_MEMORY_MB` when unset: what the pooled sandboxes may hold together. */
export const DEFAULT_POOL_MEMORY_MB = 1024;

/**
 * Parses `SANDBOXD_POOL_SIZE`: comma-separated `template=count` (`code-interpreter-v1=2,base=1`);
 * `off` or `0` turns the pool off. Throws BAD_REQUEST naming the wrong entry.
 */
export function parsePoolSizes(spec: string): Map<string, number> {
  const sizes = new Map<string, number>();
  const text = spec.trim();
  if (text === 'off' || text === '0' || text === '') return sizes;
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z0-9][A-Za-z0-9._/:-]*)\s*=\s*(\d{1,3})\s*$/.exec(part);
    if (match === null) {
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `pool size entry ${JSON.stringify(part)} must be <template>=<count> (e.g. ${DEFAULT_POOL_SIZE}), or "off"`);
    }
    const [, template, count] = match as unknown as [string, string, string];
    if (sizes.has(template)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `pool size names template "${template}" twice`);
    if (Number(count) > 0) sizes.set(template, Number(count));
  }
  return sizes;
}
