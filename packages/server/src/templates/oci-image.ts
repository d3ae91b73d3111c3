import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from '../runtime/gvisor/host-command.js';
import type { RegistryAuth } from './build-types.js';

/** What an image's config says about how it runs. */
export interface ImageConfig {
  env: Record<string, string>;
  workdir?: string;
  user?: string;
  entrypoint: string[];
  cmd: string[];
}

/** Registries on this host's loopback are spoken to over plain HTTP (a local `docker-registry`). */
export function isLoopbackRegistry(ref: string): boolean {
  const host = ref.split('/')[0] ?? '';
  return ref.includes('/') && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host);
}

/** skopeo's arguments for reading `ref`: transport, credentials, TLS. */
function sourceArgs(ref: string, auth: RegistryAuth | undefined): string[] {
  return [
    ...(auth ? ['--src-creds', `${auth.username}:${auth.password}`] : []),
    ...(isLoopbackRegistry(ref) ? ['--src-tls-verify=false'] : []),
  ];
}

/** The image's manifest digest: the identity its cached base layer is keyed by. */
export async function imageDigest(ref: string, auth: RegistryAuth | undefined, options: OperationOptions = {}): Promise<string> {
  const args = ['inspect', ...(auth ? ['--creds', `${auth.username}:${auth.password}`] : []), ...(isLoopbackRegistry(ref) ? ['--tls-verify=false'] : [])];
  try {
    const { stdout } = await runCommand('skopeo', [...args, '--format', '{{.Digest}}', `docker://${ref}`], { timeoutMs: 120_000, ...options });
    return stdout.trim();
  } catch (error) {
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `cannot read image "${ref}": ${SandboxdError.from(error).message}`, { cause: error });
  }
}

/** The config of a pulled image, in the OCI layout `layout:tag`. */
export function parseImageConfig(json: string): ImageConfig {
  const parsed = JSON.parse(json) as { config?: { Env?: string[]; WorkingDir?: string; User?: string; Entrypoint?: string[] | null; Cmd?: string[] | null } };
  const config = parsed.config ?? {};
  const env: Record<string, string> = {};
  for (const pair of config.Env ?? []) {
    const at = pair.indexOf('=');
    if (at > 0) env[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    env,
    ...(config.WorkingDir ? { workdir: config.WorkingDir } : {}),
    ...(config.User ? { user: config.User } : {}),
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
  };
}

/**
 * Pulls `ref` with skopeo into a scratch OCI layout, unpacks it with umoci (its layers applied in
 * order, whiteouts honoured, owners kept) and moves the root filesystem to `targetDir`.
 */
export async function pullImage(ref: string, auth: RegistryAuth | undefined, targetDir: string, options: OperationOptions & { onLine?: (line: string) => void } = {}): Promise<ImageConfig> {
  const scratch = await mkdtemp(join(tmpdir(), 'sandboxd-image-'));
  try {
    const layout = `oci:${join(scratch, 'oci')}:image`;
    options.onLine?.(`pulling ${ref}`);
    try {
      await runCommand('skopeo', ['copy', '--quiet', ...sourceArgs(ref, auth), `docker://${ref}`, layout], { timeoutMs: 30 * 60_000, ...options });
    } catch (error) {
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `cannot pull image "${ref}": ${SandboxdError.from(error).message}`, { cause: error });
    }
    const { stdout } = await runCommand('skopeo', ['inspect', '--config', layout], options);
    const config = parseImageConfig(stdout);
    options.onLine?.(`unpacking ${ref}`);
    await runCommand('umoci', ['unpack', '--image', `${join(scratch, 'oci')}:image`, join(scratch, 'bundle')], { timeoutMs: 30 * 60_000, ...options });
    await rm(targetDir, { recursive: true, force: true });
    await rename(join(scratch, 'bundle', 'rootfs'), targetDir);
    return config;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Whether a root filesystem is glibc-based (the agent's Node needs glibc's loader). */
export async function hasGlibc(rootfs: string): Promise<boolean> {
  for (const loader of ['lib64/ld-linux-x86-64.so.2', 'usr/lib64/ld-linux-x86-64.so.2', 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', 'usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2']) {
    if (await readFile(join(rootfs, loader)).then(() => true, () => false)) return true;
  }
  return false;
}
