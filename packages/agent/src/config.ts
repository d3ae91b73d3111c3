import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import { AGENT_CONFIG_PATH, CODE_INTERPRETER_PORT, ENVD_PORT, SANDBOX_DEFAULT_PATH, parseAgentConfig } from '@sandboxd/protocol';
import type { AgentConfig } from '@sandboxd/protocol';

/** Everything the agent needs to run, read once at start-up (by main.ts alone) and passed down. */
export interface AgentRuntimeConfig {
  agent: AgentConfig;
  configPath: string;
  /** Address both APIs bind to. */
  host: string;
  /** Port of the envd-compatible API (0 picks a free port). */
  envdPort: number;
  /** Port of the code interpreter; 'off' does not start it. */
  codePort: number | 'off';
  /** Socket of the sudo broker: a path, 'off', or undefined for the broker's default. */
  sudoSocket: string | undefined;
  /** The sandbox's own out-of-memory killer (off for tests on a host). */
  memoryGuard: boolean;
  /** PATH and LANG the agent was started with: the base of every process it spawns. */
  path: string;
  lang: string;
  /** Mirror kernels' stdout/stderr to the agent's stderr. */
  kernelDebug: boolean;
}

/** A port number from the environment: `fallback` when unset or empty, `off` when it says so. */
function portSetting(name: string, text: string | undefined, fallback: number): number;
function portSetting(name: string, text: string | undefined, fallback: number, off: 'off'): number | 'off';
function portSetting(name: string, text: string | undefined, fallback: number, off?: 'off'): number | 'off' {
  if (text === undefined || text === '') return fallback;
  if (off !== undefined && text === off) return off;
  const n = Number(text);
  if (Number.isInteger(n) && n >= 0 && n <= 65535) return n;
  throw new Error(`${name} must be a port number, got '${text}'`);
}

/** The agent's environment variables (tests and the dev entry set them; a sandbox sets none). */
const AgentEnvSchema = z.object({
  SANDBOXD_AGENT_CONFIG: z.optional(z.string()),
  SANDBOXD_AGENT_HOST: z.optional(z.string()),
  SANDBOXD_AGENT_ENVD_PORT: z.optional(z.string()),
  SANDBOXD_AGENT_CODE_PORT: z.optional(z.string()),
  SANDBOXD_AGENT_SUDO_SOCKET: z.optional(z.string()),
  SANDBOXD_AGENT_MEMORY_GUARD: z.optional(z.string()),
  SANDBOXD_KERNEL_DEBUG: z.optional(z.string()),
  PATH: z.optional(z.string()),
  LANG: z.optional(z.string()),
});

/** Reads the agent's settings from `env` and the sandbox's config from the file it names. */
export async function loadConfig(env: NodeJS.ProcessEnv): Promise<AgentRuntimeConfig> {
  const parsed = AgentEnvSchema.safeParse(env);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  const e = parsed.data;
  const configPath = e.SANDBOXD_AGENT_CONFIG || AGENT_CONFIG_PATH;
  const agent = parseAgentConfig(JSON.parse(await readFile(configPath, 'utf8')) as unknown, configPath);
  return {
    agent,
    configPath,
    host: e.SANDBOXD_AGENT_HOST || '0.0.0.0',
    envdPort: portSetting('SANDBOXD_AGENT_ENVD_PORT', e.SANDBOXD_AGENT_ENVD_PORT, ENVD_PORT),
    codePort: portSetting('SANDBOXD_AGENT_CODE_PORT', e.SANDBOXD_AGENT_CODE_PORT, CODE_INTERPRETER_PORT, 'off'),
    sudoSocket: e.SANDBOXD_AGENT_SUDO_SOCKET || undefined,
    memoryGuard: e.SANDBOXD_AGENT_MEMORY_GUARD !== 'off',
    path: e.PATH || SANDBOX_DEFAULT_PATH,
    lang: e.LANG || 'C.UTF-8',
    kernelDebug: Boolean(e.SANDBOXD_KERNEL_DEBUG),
  };
}
