import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAgentConfig } from '@sandboxd/protocol';
import type { AgentConfig } from '@sandboxd/protocol';
import type { EgressPolicy } from '../../domain/egress-policy.js';
import { RUN_DIR_CA_BUNDLE, RUN_DIR_HOST_CAS } from '../sandbox-trust-paths.js';
import type { SandboxTrust } from './host-trust.js';

/** What the runtime remembers of a sandbox across daemon restarts. */
export interface RuntimeRecord {
  sandboxId: string;
  slot: number;
  address: string;
  egress: EgressPolicy;
}

/** On-disk layout of one sandbox under `<home>/sandboxes/<id>/`. */
export function sandboxPaths(sandboxesDir: string, sandboxId: string) {
  const dir = join(sandboxesDir, sandboxId);
  return {
    dir,
    bundleDir: join(dir, 'bundle'),
    runDir: join(dir, 'run'),
    /** The console log (multilog's directory; see agent-log.ts). */
    logDir: join(dir, 'log'),
    /** Where sandboxes started before the capped log kept their console. */
    legacyLogPath: join(dir, 'agent.log'),
    layerDir: join(dir, 'layer'),
    diskImage: join(dir, 'disk.img'),
    rootDir: join(dir, 'root'),
    runscDir: join(dir, 'runsc'),
    recordPath: join(dir, 'runtime.json'),
  };
}

export async function writeSandboxFiles(
  sandboxesDir: string,
  record: RuntimeRecord,
  ociSpec: Record<string, unknown>,
  agentConfig: AgentConfig,
  resolvConf: string,
  trust: SandboxTrust,
): Promise<void> {
  const paths = sandboxPaths(sandboxesDir, record.sandboxId);
  await mkdir(paths.bundleDir, { recursive: true, mode: 0o700 });
  await mkdir(paths.runDir, { recursive: true, mode: 0o755 });
  await writeFile(join(paths.bundleDir, 'config.json'), JSON.stringify(ociSpec, null, 2));
  // agent.json holds the access token: readable by root inside the sandbox only. Written through
  // the schema the agent reads it with, so a config the agent would refuse never leaves the daemon.
  await writeFile(join(paths.runDir, 'agent.json'), JSON.stringify(parseAgentConfig(agentConfig)), { mode: 0o600 });
  await writeFile(join(paths.runDir, 'resolv.conf'), resolvConf);
  await writeFile(join(paths.runDir, 'hostname'), `${record.sandboxId}\n`);
  // Every user inside reads the CA bundles, whatever the daemon's umask.
  for (const [name, text] of [[RUN_DIR_CA_BUNDLE, trust.bundle], [RUN_DIR_HOST_CAS, trust.hostOnly]] as const) {
    await writeFile(join(paths.runDir, name), text);
    await chmod(join(paths.runDir, name), 0o644);
  }
  await writeFile(
    join(paths.runDir, 'hosts'),
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${record.address}\t${record.sandboxId}\n`,
  );
  await writeRecord(sandboxesDir, record);
}

/**
 * Writes the sandbox's record atomically (a temporary file renamed over it): a crash leaves the
 * old record or the new one, never a torn one (which would make the sandbox a leftover).
 */
export async function writeRecord(sandboxesDir: string, record: RuntimeRecord): Promise<void> {
  const { recordPath } = sandboxPaths(sandboxesDir, record.sandboxId);
  const temporary = `${recordPath}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, JSON.stringify(record));
    await rename(temporary, recordPath);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

/** The record of one sandbox, or undefined when it has none (or a torn one). */
export async function readRecord(sandboxesDir: string, sandboxId: string): Promise<RuntimeRecord | undefined> {
  const text = await readFile(sandboxPaths(sandboxesDir, sandboxId).recordPath, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as RuntimeRecord;
  } catch {
    return undefined;
  }
}

export async function readRecords(sandboxesDir: string): Promise<RuntimeRecord[]> {
  const names = await readdir(sandboxesDir).catch(() => [] as string[]);
  const records: RuntimeRecord[] = [];
  for (const name of names) {
    // A missing or torn record: the sandbox is cleaned up as a leftover.
    const record = await readRecord(sandboxesDir, name);
    if (record) records.push(record);
  }
  return records;
}

export async function removeSandboxFiles(sandboxesDir: string, sandboxId: string): Promise<void> {
  await rm(sandboxPaths(sandboxesDir, sandboxId).dir, { recursive: true, force: true });
}
