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

/** Default resource limits of sandboxes of the built-in templates. */
const LIMITS: SandboxLimits = { memoryMB: 2048, cpuCount: 2, pidsLimit: 1024, diskSizeMB: 4096 };

/**
 * The lean `base` template, E2B's `base`: Debian trixie with python3 (pip, venv), nodejs (npm),
 * git, curl, build tools and sudo; no Jupyter stack. Its packages are a subset of the code
 * interpreter's, so one build's downloads serve the other (the shared apt archive cache).
 */
export const BASE_TEMPLATE: TemplateSpec = {
  name: 'base',
  aliases: ['base', 'default'],
  suite: 'trixie',
  packages: [
    'bash',
    'build-essential',
    'ca-certificates',
    'coreutils',
    'curl',
    'git',
    'iproute2',
    'less',
    'nodejs',
    'npm',
    'passwd',
    'procps',
    'python3',
    // `python` as E2B's images have it (they are built from python:3.x images): commands and
    // scripts that call `python` work.
    'python-is-python3',
    'python3-pip',
    'python3-venv',
    'sudo',
    'tini',
  ],
  limits: LIMITS,
  env: TRUST_ENV,
  recipeVersion: 1,
};

/**
 * The code-interpreter template: the lean base's packages plus the scientific Python stack
 * (pandas 2.2, matplotlib 3.10, ...), Jupyter's ipykernel, R with IRkernel and OpenJDK. Answers to
 * `code-interpreter-v1`, the name the official code-interpreter SDK asks for.
 */
export const CODE_INTERPRETER_TEMPLATE: TemplateSpec = {
  name: 'code-interpreter-v1',
  aliases: ['code-interpreter-v1', 'code-interpreter'],
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
    // `python` as E2B's images have it (they are built from python:3.x images): commands and
    // scripts that call `python` work.
    'python-is-python3',
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
  limits: LIMITS,
  env: TRUST_ENV,
  codeInterpreterAliases: ['code-interpreter-v1', 'code-interpreter'],
  recipeVersion: 5,
};

/** The built-in templates, in the order the set-up builds them (the lean one fills the apt cache first). */
export const BUILT_IN_TEMPLATES: readonly TemplateSpec[] = [BASE_TEMPLATE, CODE_INTERPRETER_TEMPLATE];

/** Content hash of a spec: the cache key of its build. */
export function templateHash(spec: TemplateSpec): string {
  const canonical = JSON.stringify({
    suite: spec.suite,
    packages: [...spec.packages].sort(),
    recipeVersion: spec.recipeVersion,
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}
