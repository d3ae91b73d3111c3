import { copyFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SandboxdError } from '@sandboxd/protocol';
import type { SandboxRuntime } from '../runtime/sandbox-runtime.js';
import type { OperationOptions } from '@sandboxd/protocol';
import type { SandboxLimits } from '../domain/sandbox-limits.js';
import { BuildStepError, type BuildContext, type BuildDefinition } from './build-types.js';
import type { BuildLog } from './build-log.js';
import type { LayerCache } from './layer-cache.js';
import { hasGlibc, imageDigest, pullImage } from './oci-image.js';
import { CONTRACT_SCRIPT, ensureTini } from './sandbox-contract.js';
import { planStep, shq } from './step-commands.js';
import { baseKey, stepKey } from './step-hash.js';
import { startStepSandbox, type StepSandbox, type StepSandboxDeps } from './step-sandbox.js';
import type { TemplateStore } from './template-store.js';

export interface BuilderDeps {
  runtime: SandboxRuntime;
  /** Resolves `fromTemplate` (built-in and built templates). */
  templates: TemplateStore;
  layers: LayerCache;
  /** Where uploaded COPY archives are: `<uploadsDir>/<filesHash>.tar`. */
  uploadsDir: string;
}

/** What a finished build made. */
export interface BuildOutput {
  /** The template's overlay lowers, top first. */
  lowers: string[];
  layerKeys: string[];
  context: BuildContext;
  /** The template's environment: its base's beneath its ENV steps. */
  env: Record<string, string>;
  codeInterpreter: boolean;
  startCmd?: string;
  readyCmd?: string;
  diskSizeMB: number;
  /** Steps whose layer came from the cache. */
  cachedSteps: number;
}

/** E2B's SDK builds on `e2bdev/base` when no base is named: here that is the default template. */
const DEFAULT_IMAGES = new Set(['e2bdev/base', 'e2bdev/base:latest', 'docker.io/e2bdev/base']);

interface Base {
  key: string;
  lowers: string[];
  context: BuildContext;
  env: Record<string, string>;
  codeInterpreter: boolean;
  startCmd?: string;
  readyCmd?: string;
  diskSizeMB: number;
}

/**
 * Runs a build: resolves the base, then each step in a gVisor build sandbox over the layers so
 * far, caching every step's layer by `stepKey` (an unchanged step is reused, not run). A failing
 * step throws a BuildStepError naming it, with its last output lines; nothing of it is kept.
 */
export async function runBuild(deps: BuilderDeps, def: BuildDefinition, limits: SandboxLimits, log: BuildLog, options: OperationOptions = {}): Promise<BuildOutput> {
  const base = await resolveBase(deps, def, limits, log, options);
  let { key, context } = base;
  let lowers = [...base.lowers];
  let forced = def.force;
  let cachedSteps = 0;
  // One build sandbox runs consecutive steps; each step's layer holds everything changed since it started.
  let session: StepSandbox | undefined;
  const closeSession = async () => {
    await session?.close();
    session = undefined;
  };
  try {
    for (const [index, step] of def.steps.entries()) {
      const name = String(index + 1);
      const label = `[${name}/${def.steps.length}] ${step.type.toUpperCase()} ${step.args.join(' ')}`.trim();
      key = stepKey(key, step, context);
      forced ||= step.force === true;
      const release = await lockStep(deps, key, name, log, options);
      try {
        const cached = forced ? undefined : deps.layers.get(key);
        if (cached) {
          log.add('info', `CACHED ${label}`, name);
          await closeSession();
          cachedSteps += 1;
          context = cached.context;
          lowers = cached.stack;
          continue;
        }
        log.add('info', label, name);
        let plan;
        try {
          plan = planStep(step, context);
        } catch (error) {
          throw new BuildStepError(SandboxdError.from(error).message, name);
        }
        const layer = await deps.layers.begin(key);
        try {
          if (plan.script === undefined) {
            // No file changes: the state is the previous one (a live session's changes are in the next snapshot).
            const committed = await layer.commit(plan.next, lowers, true);
            if (!session) lowers = committed.stack;
            context = plan.next;
            continue;
          }
          if (!session) {
            const started = Date.now();
            session = await startStepSandbox(sandboxDeps(deps, limits, base.env), lowers, options);
            log.add('debug', `build sandbox started in ${Date.now() - started} ms`, name);
          }
          if (plan.filesHash !== undefined) await copyFile(join(deps.uploadsDir, `${plan.filesHash}.tar`), join(session.tmpDir, '.sandboxd-copy.tar'));
          const output: string[] = [];
          const code = await session.run(plan.script, plan.user, context, (line) => {
            output.push(line);
            if (output.length > 50) output.shift();
            log.add('info', line, name);
          }, options);
          if (code !== 0) throw new BuildStepError(`failed to run command '${step.type.toUpperCase() === 'RUN' ? plan.script : label}': exit status ${code}`, name, output);
          const changed = await session.snapshot(layer.fsDir);
          const committed = await layer.commit(plan.next, session.lowers, !changed);
          lowers = committed.stack;
          context = plan.next;
        } catch (error) {
          await layer.discard();
          if (error instanceof BuildStepError) throw error;
          throw new BuildStepError(SandboxdError.from(error).message, name);
        }
      } finally {
        release();
      }
    }
  } finally {
    await closeSession();
  }
  // E2B: the build's start and ready commands replace the base's; neither given, the base's stay.
  const own = def.startCmd !== undefined || def.readyCmd !== undefined;
  const start = own ? { startCmd: def.startCmd, readyCmd: def.readyCmd } : { startCmd: base.startCmd, readyCmd: base.readyCmd };
  // An image's entrypoint (sandboxd's start command for it) is not checked unless the build asks.
  if (own || start.readyCmd !== undefined) {
    await checkReady(deps, start, limits, base.env, lowers, context, log, options);
  }
  return {
    lowers,
    layerKeys: lowers.filter((l) => l.startsWith(`${deps.layers.dir}/`)).map((l) => basename(dirname(l))),
    context,
    env: { ...base.env, ...context.env },
    codeInterpreter: base.codeInterpreter,
    ...(start.startCmd !== undefined ? { startCmd: start.startCmd } : {}),
    ...(start.readyCmd !== undefined ? { readyCmd: start.readyCmd } : {}),
    diskSizeMB: base.diskSizeMB,
    cachedSteps,
  };
}

/** Takes a step key's lock, saying so when another build holds it (that build's layer is then reused). */
async function lockStep(deps: BuilderDeps, key: string, step: string, log: BuildLog, options: OperationOptions): Promise<() => void> {
  if (deps.layers.locked(key)) log.add('info', 'waiting for another build running this same step', step);
  try {
    return await deps.layers.lock(key, options);
  } catch (error) {
    throw new BuildStepError(SandboxdError.from(error).message, step);
  }
}

const sandboxDeps = (deps: BuilderDeps, limits: SandboxLimits, baseEnv: Record<string, string>): StepSandboxDeps => ({ runtime: deps.runtime, limits, baseEnv });

async function resolveBase(deps: BuilderDeps, def: BuildDefinition, limits: SandboxLimits, log: BuildLog, options: OperationOptions): Promise<Base> {
  const fromTemplate = def.fromTemplate ?? (def.fromImage === undefined || DEFAULT_IMAGES.has(def.fromImage) ? 'base' : undefined);
  if (fromTemplate !== undefined) {
    const info = deps.templates.resolve(fromTemplate);
    if (!info) throw new BuildStepError(`template "${fromTemplate}" not found`, 'base');
    log.add('info', `FROM TEMPLATE ${fromTemplate} (${info.templateId})`, 'base');
    return {
      key: baseKey('template', info.rootfsPath),
      lowers: info.rootfsPath.split(':'),
      context: { user: info.defaultUser ?? 'user', workdir: info.defaultWorkdir ?? '/home/user', env: {} },
      env: info.env ?? {},
      codeInterpreter: info.codeInterpreter ?? false,
      ...(info.startCmd !== undefined ? { startCmd: info.startCmd } : {}),
      ...(info.readyCmd !== undefined ? { readyCmd: info.readyCmd } : {}),
      diskSizeMB: info.limits.diskSizeMB,
    };
  }
  return imageBase(deps, def, limits, log, options);
}

/** An OCI image's root as a layer, plus the sandbox contract (init, `user`, sudo) as a second one. */
async function imageBase(deps: BuilderDeps, def: BuildDefinition, limits: SandboxLimits, log: BuildLog, options: OperationOptions): Promise<Base> {
  const ref = def.fromImage as string;
  const defaultRoot = deps.templates.resolve('base')?.rootfsPath.split(':').pop();
  log.add('info', `FROM IMAGE ${ref}`, 'base');
  try {
    const digest = await imageDigest(ref, def.registry, options);
    const imageKey = baseKey('image', `${ref}@${digest}`);
    const releaseImage = await lockStep(deps, imageKey, 'base', log, options);
    let imageLayer;
    try {
      imageLayer = def.force ? undefined : deps.layers.get(imageKey);
      if (!imageLayer) {
        const layer = await deps.layers.begin(imageKey);
        try {
          const config = await pullImage(ref, def.registry, layer.fsDir, { ...options, onLine: (line) => log.add('info', line, 'base') });
          if (!(await hasGlibc(layer.fsDir))) throw new BuildStepError(`image "${ref}" is not glibc-based: the sandbox agent's Node.js needs glibc's loader`, 'base');
          if (defaultRoot === undefined) throw new BuildStepError('the default template is not built: its init (tini) is what images get', 'base');
          await ensureTini(layer.fsDir, defaultRoot);
          const user = config.user && !/^(root|0)(:.*)?$/.test(config.user) ? config.user : 'user';
          const entry = config.entrypoint.length > 0 ? [...config.entrypoint, ...config.cmd].map(shq).join(' ') : undefined;
          imageLayer = await layer.commit({ user, workdir: config.workdir || (user === 'user' ? '/home/user' : '/'), env: config.env }, [], false, entry);
        } catch (error) {
          await layer.discard();
          throw error;
        }
      } else {
        log.add('info', `CACHED image ${ref}@${digest}`, 'base');
      }
    } finally {
      releaseImage();
    }
    const contractKey = stepKey(imageKey, { type: 'SANDBOXD_CONTRACT', args: [CONTRACT_SCRIPT] }, imageLayer.context);
    const releaseContract = await lockStep(deps, contractKey, 'base', log, options);
    let contract;
    try {
      contract = def.force ? undefined : deps.layers.get(contractKey);
      if (!contract) {
        const layer = await deps.layers.begin(contractKey);
        const sandbox = await startStepSandbox(sandboxDeps(deps, limits, {}), imageLayer.stack, options).catch(async (error: unknown) => {
          await layer.discard();
          throw error;
        });
        try {
          const output: string[] = [];
          const env = { ...imageLayer.context.env, SANDBOXD_USER: imageLayer.context.user, SANDBOXD_WORKDIR: imageLayer.context.workdir };
          const code = await sandbox.run(CONTRACT_SCRIPT, 'root', { ...imageLayer.context, workdir: '/', env }, (line) => output.push(line), options);
          if (code !== 0) throw new BuildStepError(`adding the sandbox user to the image failed (exit status ${code})`, 'base', output);
          contract = await layer.commit(imageLayer.context, imageLayer.stack, !(await sandbox.snapshot(layer.fsDir)));
        } catch (error) {
          await layer.discard();
          throw error;
        } finally {
          await sandbox.close();
        }
      }
    } finally {
      releaseContract();
    }
    const startCmd = imageLayer.startCmd;
    return {
      key: contractKey,
      lowers: contract.stack,
      context: { ...contract.context, env: {} },
      env: contract.context.env,
      codeInterpreter: false,
      ...(startCmd !== undefined ? { startCmd } : {}),
      diskSizeMB: 4096,
    };
  } catch (error) {
    if (error instanceof BuildStepError) throw error;
    throw new BuildStepError(SandboxdError.from(error).message, 'base');
  }
}

/** E2B's default ready command when a start command has none (`GetDefaultReadyCommand`). */
const DEFAULT_READY_CMD = 'sleep 20';

/**
 * E2B's finalize: a sandbox of the result runs the start command, as the template's user in its
 * working directory, and its ready command until that passes (the agent's own start and ready
 * handling, as in every sandbox of the template: 10 minutes at most, a failing start command fails
 * the build with its output).
 */
async function checkReady(deps: BuilderDeps, start: { startCmd?: string | undefined; readyCmd?: string | undefined }, limits: SandboxLimits, baseEnv: Record<string, string>, lowers: string[], context: BuildContext, log: BuildLog, options: OperationOptions): Promise<void> {
  const readyCmd = start.readyCmd ?? (start.startCmd !== undefined ? DEFAULT_READY_CMD : undefined);
  log.add('info', `FINALIZE start: ${start.startCmd ?? '(none)'}, ready: ${readyCmd ?? '(none)'}`, 'finalize');
  try {
    const sandbox = await startStepSandbox(sandboxDeps(deps, limits, baseEnv), lowers, options, { context, startCmd: start.startCmd, readyCmd });
    try {
      await sandbox.waitReady(options);
      log.add('info', 'Template is ready', 'finalize');
    } finally {
      await sandbox.close();
    }
  } catch (error) {
    if (error instanceof BuildStepError) throw error;
    throw new BuildStepError(SandboxdError.from(error).message, 'finalize');
  }
}
