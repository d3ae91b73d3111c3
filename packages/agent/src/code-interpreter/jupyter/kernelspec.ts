/**
 * Our kernelspecs (`packages/agent/python/kernels/<name>/kernel.json`), resolved relative to this
 * module so they work from the read-only bind mount. Placeholders in argv/env:
 * `{connection_file}`, `{python_dir}` (our Python helpers) and `{deno}` (the Deno binary).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KernelSpec {
  name: string;
  argv: string[];
  env: Record<string, string>;
  interruptMode: 'signal' | 'message';
}

/**
 * ZeroMQ transport a kernel is reached over. `ipc` (Unix sockets) is about twice as fast as TCP
 * loopback under gVisor, whose netstack every TCP packet crosses; kernels that do not support it
 * declare `tcp` in their kernel.json (`sandboxd_transport`).
 */
export type KernelTransport = 'tcp' | 'ipc';

/**
 * `packages/agent/python`: the nearest ancestor of this module with a `python/kernels` directory,
 * so it is found from `src/…`, `dist/…` and from the single-file bundle in `dist/`.
 */
export const PYTHON_DIR = findPythonDir(dirname(fileURLToPath(import.meta.url)));

function findPythonDir(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'python', 'kernels'))) return join(dir, 'python');
    if (dirname(dir) === dir) throw new Error(`no python/kernels directory above ${start}`);
  }
}

/** The Deno binary of the `deno` npm package (its platform package sits next to it). */
export function denoBinary(): string {
  const require = createRequire(import.meta.url);
  const denoPackage = dirname(require.resolve('deno/package.json'));
  return join(denoPackage, '..', '@deno', 'linux-x64-glibc', 'deno');
}

interface KernelJson {
  argv: string[];
  env?: Record<string, string>;
  interrupt_mode?: 'signal' | 'message';
  sandboxd_transport?: KernelTransport;
}

const cache = new Map<string, Promise<KernelJson>>();

function load(name: string): Promise<KernelJson> {
  let spec = cache.get(name);
  if (!spec) {
    spec = readFile(join(PYTHON_DIR, 'kernels', name, 'kernel.json'), 'utf8').then((text) => JSON.parse(text) as KernelJson);
    cache.set(name, spec);
    spec.catch(() => cache.delete(name));
  }
  return spec;
}

/** The transport kernelspec `name` asks for (default `tcp`). */
export async function kernelTransport(name: string): Promise<KernelTransport> {
  return (await load(name)).sandboxd_transport ?? 'tcp';
}

/** Loads kernelspec `name` with every placeholder filled in. */
export async function resolveKernelSpec(name: string, connectionFile: string): Promise<KernelSpec> {
  const json = await load(name);
  const values: Record<string, () => string> = {
    connection_file: () => connectionFile,
    python_dir: () => PYTHON_DIR,
    deno: denoBinary,
  };
  const fill = (text: string): string =>
    text.replace(/\{(\w+)\}/g, (whole, key: string) => (values[key] ? values[key]() : whole));
  return {
    name,
    argv: json.argv.map(fill),
    env: Object.fromEntries(Object.entries(json.env ?? {}).map(([k, v]) => [k, fill(v)])),
    interruptMode: json.interrupt_mode ?? 'signal',
  };
}
