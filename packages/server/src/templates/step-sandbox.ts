import { randomBytes } from 'node:crypto';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import type { OperationOptions } from '@sandboxd/protocol';
import type { SandboxLimits } from '../domain/sandbox-limits.js';
import { runCommand } from '../runtime/gvisor/host-command.js';
import { waitTemplateReady } from '../runtime/template-ready-client.js';
import type { BuildContext } from './build-types.js';
import { captureTmp, tmpSignature } from './build-tmp.js';
import { existsLayered, lookupUser } from './layer-users.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A running build sandbox over a stack of layers. Steps run in it one after another; after each,
 * `snapshot` copies everything changed since the sandbox started (its overlay upper layer,
 * whiteouts included) into a layer that, over `lowers`, is the state after that step.
 */
export interface StepSandbox {
  /** The layers it started on, top first. */
  lowers: string[];
  /** Host path of the sandbox's /tmp (its own directory; `snapshot` puts it in the layer when it changed). */
  tmpDir: string;
  /** Runs a shell script as `user` in `cwd` with the context's environment; resolves with the exit code. */
  run(script: string, user: string, context: BuildContext, onLine: (line: string) => void, options?: OperationOptions): Promise<number>;
  /** Waits for the start and ready commands it was started with (`StartCommands`) to pass. */
  waitReady(options?: OperationOptions): Promise<void>;
  /** Copies the changes so far (those to /tmp included) into `layerDir`; false when there are none. */
  snapshot(layerDir: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface StepSandboxDeps {
  runtime: SandboxRuntime;
  limits: SandboxLimits;
  /** The environment beneath the context's (the base template's, e.g. its TLS trust variables). */
  baseEnv: Record<string, string>;
}

/** A template's start and ready commands, which the build sandbox's agent runs as a sandbox's would. */
export interface StartCommands {
  context: BuildContext;
  startCmd?: string | undefined;
  readyCmd?: string | undefined;
}

/** Starts a gVisor build sandbox (network on) over `lowers`; with `start`, its agent runs those commands. */
export async function startStepSandbox(deps: StepSandboxDeps, lowers: string[], options: OperationOptions = {}, start?: StartCommands): Promise<StepSandbox> {
  const { runtime } = deps;
  if (!runtime.exec || !runtime.layerPaths) throw new SandboxdError(ErrorCode.INTERNAL, 'this runtime cannot run template builds');
  const exec = runtime.exec.bind(runtime);
  let sandboxId = '';
  let address = '';
  const secret = randomBytes(16).toString('hex');
  const commands = start === undefined
    ? {}
    : {
        envVars: { ...deps.baseEnv, ...start.context.env },
        defaultUser: start.context.user,
        defaultWorkdir: start.context.workdir,
        ...(start.startCmd !== undefined ? { startCmd: start.startCmd } : {}),
        ...(start.readyCmd !== undefined ? { readyCmd: start.readyCmd } : {}),
        loopbackSecret: secret,
      };
  // A loaded host can make one boot miss the agent's start deadline; a build tries a second one.
  for (let attempt = 1; ; attempt++) {
    sandboxId = `build${randomBytes(8).toString('hex')}`;
    try {
      ({ address } = await runtime.create(
        {
          sandboxId,
          rootfsPath: lowers.join(':'),
          limits: deps.limits,
          egress: { allowInternetAccess: true, allowOut: [], denyOut: [] },
          agentConfig: { sandboxId, templateId: 'build', accessToken: randomBytes(16).toString('hex'), envVars: {}, defaultUser: 'root', bootKernels: false, ...commands },
        },
        { timeoutMs: 120_000, ...(options.signal ? { signal: options.signal } : {}) },
      ));
      break;
    } catch (error) {
      if (attempt >= 2 || options.signal?.aborted) throw error;
    }
  }
  // Build steps run with precise timers (a step waiting on the network uses little CPU).
  const releaseTimers = runtime.holdTimers?.(sandboxId);
  const paths = runtime.layerPaths(sandboxId);
  const view = [paths.upper, ...lowers];
  const shell = existsLayered(view, 'bin/bash') || existsLayered(view, 'usr/bin/bash') ? '/bin/bash' : '/bin/sh';
  // What the runtime seeded /tmp with (the lowers' /tmp): a layer carries /tmp once it differs.
  const tmpAtStart = await tmpSignature(paths.tmp);
  let closed = false;
  return {
    lowers,
    tmpDir: paths.tmp,
    async run(script, user, context, onLine, runOptions = {}) {
      const found = lookupUser(view, user);
      if (!found) throw new SandboxdError(ErrorCode.BAD_REQUEST, `user "${user}" does not exist in the template`);
      const env: Record<string, string> = { PATH: DEFAULT_PATH, LANG: 'C.UTF-8', HOME: found.home, USER: user, LOGNAME: user, ...deps.baseEnv, ...context.env };
      return exec(sandboxId, { argv: [shell, '-c', script], uid: found.uid, gid: found.gid, cwd: posix.normalize(context.workdir), env }, { ...runOptions, onLine: (line) => onLine(line) });
    },
    waitReady: (waitOptions = {}) => waitTemplateReady(address, secret, waitOptions),
    async snapshot(layerDir) {
      // The agent's own runtime files are no part of a template.
      await rm(join(paths.upper, 'run', 'sandboxd-sudo'), { recursive: true, force: true });
      await rmdir(join(paths.upper, 'run')).catch(() => undefined);
      // Frozen while its files are copied: a process a step left running cannot swap a directory
      // for a symlink under the host's cp (which would then copy host files into the layer).
      await runtime.freeze(sandboxId);
      try {
        const tmpChanged = (await tmpSignature(paths.tmp)) !== tmpAtStart;
        const upperChanged = (await readdir(paths.upper)).length > 0;
        if (!upperChanged && !tmpChanged) return false;
        // cp -a keeps owners, modes, xattrs (overlayfs opaque markers) and whiteout devices.
        if (upperChanged) await runCommand('cp', ['-a', `${paths.upper}/.`, layerDir], { timeoutMs: 30 * 60_000 });
        if (tmpChanged) await captureTmp(paths.tmp, layerDir);
        return true;
      } finally {
        await runtime.thaw(sandboxId);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      releaseTimers?.();
      await runtime.destroy(sandboxId).catch(() => undefined);
    },
  };
}
