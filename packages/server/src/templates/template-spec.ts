import { createHash } from 'node:crypto';
import type { SandboxLimits } from '../runtime/sandbox-runtime.js';

/** What a template's root filesystem is built from. Its hash names the build. */
export interface TemplateSpec {
  name: string;
  aliases: string[];
  /** Debian suite the packages come from. */
  suite: string;
  packages: string[];
  /** Default resource limits of sandboxes made from it. */
  limits: SandboxLimits;
  /** Bumped whenever the build steps change in a way the package list does not show. */
  recipeVersion: number;
}

/**
 * The default template: Debian trixie (Python 3.13, pandas 2.2, matplotlib 3.10, Node 20) with
 * the scientific Python stack, Jupyter's ipykernel, git, curl and sudo. Answers to `base` and
 * `code-interpreter-v1`, the names the official SDKs ask for.
 */
export const DEFAULT_TEMPLATE: TemplateSpec = {
  name: 'base',
  aliases: ['base', 'code-interpreter-v1', 'code-interpreter', 'default'],
  suite: 'trixie',
  packages: [
    'bash',
    'ca-certificates',
    'coreutils',
    'curl',
    'git',
    'iproute2',
    'less',
    'nodejs',
    'passwd',
    'procps',
    'python3',
    'python3-ipykernel',
    'python3-matplotlib',
    'python3-numpy',
    'python3-pandas',
    'python3-pexpect',
    'python3-pil',
    'python3-scipy',
    'python3-seaborn',
    'sudo',
    'tini',
    'attr',
  ],
  limits: { memoryMB: 2048, cpuCount: 2, pidsLimit: 1024, diskSizeMB: 4096 },
  recipeVersion: 3,
};

/** Content hash of a spec: the cache key of its build. */
export function templateHash(spec: TemplateSpec): string {
  const canonical = JSON.stringify({
    suite: spec.suite,
    packages: [...spec.packages].sort(),
    recipeVersion: spec.recipeVersion,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
