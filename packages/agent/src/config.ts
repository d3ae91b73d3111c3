import { readFile } from 'node:fs/promises';
import { AGENT_CONFIG_PATH, ENVD_PORT } from '@sandboxd/protocol';
import type { AgentConfig } from '@sandboxd/protocol';

/** Everything the agent needs to run, read once at start-up and passed down. */
export interface AgentRuntimeConfig {
  agent: AgentConfig;
  /** Address the envd-compatible API binds to. */
  host: string;
  /** Port of the envd-compatible API (0 picks a free port). */
  envdPort: number;
  configPath: string;
}

/**
 * Reads the sandbox's agent config. `SANDBOXD_AGENT_CONFIG` overrides the path,
 * `SANDBOXD_AGENT_HOST` / `SANDBOXD_AGENT_ENVD_PORT` the listen address (tests use them).
 */
export async function loadConfig(env: NodeJS.ProcessEnv): Promise<AgentRuntimeConfig> {
  const configPath = env['SANDBOXD_AGENT_CONFIG'] || AGENT_CONFIG_PATH;
  const raw = await readFile(configPath, 'utf8');
  const agent = parseAgentConfig(JSON.parse(raw) as unknown, configPath);
  const portText = env['SANDBOXD_AGENT_ENVD_PORT'];
  const envdPort = portText === undefined || portText === '' ? ENVD_PORT : Number(portText);
  if (!Number.isInteger(envdPort) || envdPort < 0 || envdPort > 65535) {
    throw new Error(`SANDBOXD_AGENT_ENVD_PORT must be a port number, got '${portText}'`);
  }
  return { agent, host: env['SANDBOXD_AGENT_HOST'] || '0.0.0.0', envdPort, configPath };
}

/** Validates the JSON shape of an AgentConfig; missing optional parts get safe defaults. */
export function parseAgentConfig(value: unknown, source = 'agent config'): AgentConfig {
  if (typeof value !== 'object' || value === null) throw new Error(`${source}: expected a JSON object`);
  const v = value as Record<string, unknown>;
  const str = (key: string, fallback?: string): string => {
    const x = v[key];
    if (typeof x === 'string') return x;
    if (x === undefined && fallback !== undefined) return fallback;
    throw new Error(`${source}: '${key}' must be a string`);
  };
  const token = v['accessToken'];
  if (token !== null && token !== undefined && typeof token !== 'string') {
    throw new Error(`${source}: 'accessToken' must be a string or null`);
  }
  const envVars: Record<string, string> = {};
  const rawEnv = v['envVars'];
  if (rawEnv !== undefined && rawEnv !== null) {
    if (typeof rawEnv !== 'object') throw new Error(`${source}: 'envVars' must be an object`);
    for (const [k, val] of Object.entries(rawEnv as Record<string, unknown>)) {
      if (typeof val !== 'string') throw new Error(`${source}: envVars.${k} must be a string`);
      envVars[k] = val;
    }
  }
  return {
    sandboxId: str('sandboxId', ''),
    templateId: str('templateId', ''),
    accessToken: typeof token === 'string' && token !== '' ? token : null,
    envVars,
    defaultUser: str('defaultUser', 'user'),
    ...optionalString(v['defaultWorkdir'], 'defaultWorkdir', source),
    ...optionalString(v['startCmd'], 'startCmd', source),
    bootKernels: v['bootKernels'] !== false,
    ...pidsLimitOf(v['pidsLimit'], source),
    ...loopbackSecretOf(v['loopbackSecret'], source),
  };
}

function optionalString<K extends 'defaultWorkdir' | 'startCmd'>(value: unknown, key: K, source: string): Partial<Record<K, string>> {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'string') throw new Error(`${source}: '${key}' must be a string`);
  return { [key]: value } as Partial<Record<K, string>>;
}

function pidsLimitOf(value: unknown, source: string): { pidsLimit?: number } {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`${source}: 'pidsLimit' must be a positive integer`);
  return { pidsLimit: value };
}

function loopbackSecretOf(value: unknown, source: string): { loopbackSecret?: string } {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value !== 'string') throw new Error(`${source}: 'loopbackSecret' must be a string`);
  return { loopbackSecret: value };
}
