import { createHash } from 'node:crypto';
import type { SandboxLimits } from '../domain/sandbox-limits.js';
import { SYSTEM_CA_BUNDLE } from '../runtime/sandbox-trust-paths.js';

/** What a template's root filesystem is built from. Its hash names the build. */
export interface TemplateSpec {
  name: string;
  aliases: string[];
  /** Debian suite the packages come from. */
  suite: string;
  packages: string[];
  /** Default resource limits of sandboxes made from it. */
  limits: SandboxLimits;
  /**
   * Environment of every process in its sandboxes, beneath the create request's `envVars`. Not
   * part of the build (nor of its hash): sandboxes get the spec's current value.
   */
  env: Record<string, string>;
  /** Aliases whose sandboxes boot the code-interpreter kernels at start. */
  codeInterpreterAliases?: string[];
  /** Bumped whenever the build steps change in a way the package list does not show. */
  recipeVersion: number;
}

/**
 * TLS clients that bring their own CA list read the system bundle (which trusts what the host
 * trusts, see runtime/gvisor/host-trust.ts) through these: Node uses OpenSSL's store (the system
 * bundle) instead of its built-in roots, Deno (the JavaScript kernel) adds the bundle to its own,
 * certifi-based Python code (requests, a pip of its own) and OpenSSL's default take it. Not
 * `NODE_EXTRA_CA_CERTS`: with it Node 20 loads its whole root store at every start (+~55 ms per
 * `node` on the host, measured with Node 20.20).
 */
export const TRUST_ENV: Record<string, string> = {
  NODE_OPTIONS: '--use-openssl-ca',
  DENO_CERT: SYSTEM_CA_BUNDLE,
  REQUESTS_CA_BUNDLE: SYSTEM_CA_BUNDLE,
  PIP_CERT: SYSTEM_CA_BUNDLE,
  SSL_CERT_FILE: SYSTEM_CA_BUNDLE,
};

/**
 * The default template: Debian trixie (Python 3.13, pandas 2.2, matplotlib 3.10, Node 20) with
 * the scientific Python stack, Jupyter's ipykernel, pip, npm, git, curl and sudo. Answers to
 * `base` and `code-interpreter-v1`, the names the official SDKs ask for.
 */
export const DEFAULT_TEMPLATE: TemplateSpec = {
  name: 'base',
  aliases: ['base', 'code-interpreter-v1', 'code-interpreter', 'default'],
  suite: 'trixie',
  packages: [
    'attr',
    'bash',
    'build-essential',
    'ca-certificates',
    'coreutils',
    'curl',
    'git',
    'iproute2',
    'jq',
    'less',
    'nodejs',
    'npm',
    'openjdk-21-jdk-headless',
    'passwd',
    'procps',
    'python3',
    'python3-aiohttp',
    'python3-bs4',
    'python3-dev',
    'python3-docx',
    'python3-imageio',
    'python3-ipykernel',
    'python3-joblib',
    'python3-matplotlib',
    'python3-nltk',
    'python3-numba',
    'python3-numpy',
    'python3-opencv',
    'python3-openpyxl',
    'python3-orjson',
    'python3-pandas',
    'python3-pexpect',
    'python3-pil',
    'python3-pip',
    'python3-plotly',
    'python3-pytest',
    'python3-pytz',
    'python3-requests',
    'python3-scipy',
    'python3-seaborn',
    'python3-skimage',
    'python3-sklearn',
    'python3-soundfile',
    'python3-statsmodels',
    'python3-sympy',
    'python3-tornado',
    'python3-venv',
    'python3-xarray',
    'python3-xlrd',
    'r-base-core',
    'r-cran-irkernel',
    'sudo',
    'tini',
    'unzip',
  ],
  limits: { memoryMB: 2048, cpuCount: 2, pidsLimit: 1024, diskSizeMB: 4096 },
  env: TRUST_ENV,
  codeInterpreterAliases: ['code-interpreter-v1', 'code-interpreter'],
  recipeVersion: 5,
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
