import type { SandboxdConnection } from '@sandboxd/mcp';
import { Sandbox, type SandboxInfo, type SandboxOpts } from 'e2b';
import { parseKeyValues, parseSecondsMs } from './sandbox-args.js';
import { sdkOptions, toCliError } from './sandbox-client.js';
import { sandboxDetails, sandboxTable } from './sandbox-format.js';

/** Where a sandbox command writes its result. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

/** `sandbox list`: every running sandbox, a table or (`--json`) an array of infos. */
export async function listSandboxes(connection: SandboxdConnection, opts: { json?: boolean; metadata?: string[] }, io: Output): Promise<number> {
  const metadata = parseKeyValues(opts.metadata, '--metadata');
  const all: SandboxInfo[] = [];
  try {
    const paginator = Sandbox.list({ ...sdkOptions(connection), limit: 100, ...(Object.keys(metadata).length ? { query: { metadata } } : {}) });
    while (paginator.hasNext) all.push(...(await paginator.nextItems()));
  } catch (error) {
    throw toCliError(error, connection);
  }
  if (opts.json) io.out(json(all));
  else io.out(all.length === 0 ? 'no sandboxes' : sandboxTable(all, Date.now()));
  return 0;
}

export interface CreateOptions {
  json?: boolean;
  timeout?: string;
  env?: string[];
  metadata?: string[];
  /** `--no-internet` sets it false. */
  internet?: boolean;
}

/** `sandbox create [template]`: prints the new sandbox's id, or (`--json`) its whole info. */
export async function createSandbox(connection: SandboxdConnection, template: string | undefined, opts: CreateOptions, io: Output): Promise<number> {
  const timeoutMs = parseSecondsMs(opts.timeout, '--timeout');
  const envs = parseKeyValues(opts.env, '--env');
  const metadata = parseKeyValues(opts.metadata, '--metadata');
  const create: SandboxOpts = {
    ...sdkOptions(connection),
    envs,
    metadata,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(opts.internet === false ? { allowInternetAccess: false } : {}),
  };
  let info: SandboxInfo | undefined;
  let sandboxId: string;
  try {
    const sandbox = template ? await Sandbox.create(template, create) : await Sandbox.create(create);
    sandboxId = sandbox.sandboxId;
    if (opts.json) info = await sandbox.getInfo();
  } catch (error) {
    throw toCliError(error, connection);
  }
  io.out(info ? json(info) : sandboxId);
  return 0;
}

/** `sandbox info <id>`. */
export async function sandboxInfo(connection: SandboxdConnection, sandboxId: string, opts: { json?: boolean }, io: Output): Promise<number> {
  let info: SandboxInfo;
  try {
    info = await Sandbox.getInfo(sandboxId, sdkOptions(connection));
  } catch (error) {
    throw toCliError(error, connection, sandboxId);
  }
  io.out(opts.json ? json(info) : sandboxDetails(info, Date.now()));
  return 0;
}

/**
 * `sandbox kill <id...>`: kills each; a sandbox that is not there is reported on stderr and makes
 * the exit code 1, the others are still killed. `--json`: `{ killed: [...], notFound: [...] }`.
 */
export async function killSandboxes(connection: SandboxdConnection, sandboxIds: readonly string[], opts: { json?: boolean }, io: Output): Promise<number> {
  const killed: string[] = [];
  const notFound: string[] = [];
  for (const id of sandboxIds) {
    try {
      if (await Sandbox.kill(id, sdkOptions(connection))) killed.push(id);
      else notFound.push(id);
    } catch (error) {
      throw toCliError(error, connection, id);
    }
  }
  if (opts.json) io.out(json({ killed, notFound }));
  else for (const id of killed) io.out(`killed ${id}`);
  for (const id of notFound) io.err(`sandboxd: no sandbox ${id}`);
  return notFound.length === 0 ? 0 : 1;
}

/**
 * `sandbox pause <id...>`: freezes each (memory, processes and files kept). A sandbox paused
 * already is said so on stderr and is not an error; an unknown one makes the exit code 1.
 * `--json`: `{ paused: [...], alreadyPaused: [...] }`.
 */
export async function pauseSandboxes(connection: SandboxdConnection, sandboxIds: readonly string[], opts: { json?: boolean }, io: Output): Promise<number> {
  const paused: string[] = [];
  const alreadyPaused: string[] = [];
  for (const id of sandboxIds) {
    try {
      if (await Sandbox.pause(id, sdkOptions(connection))) paused.push(id);
      else alreadyPaused.push(id);
    } catch (error) {
      throw toCliError(error, connection, id);
    }
  }
  if (opts.json) io.out(json({ paused, alreadyPaused }));
  else for (const id of paused) io.out(`paused ${id}`);
  if (!opts.json) for (const id of alreadyPaused) io.err(`sandboxd: ${id} was paused already`);
  return 0;
}

/**
 * `sandbox resume <id...>`: resumes each paused sandbox with `--timeout` (default the daemon's)
 * from now; a running one only has its timeout extended. `--json`: `{ resumed: [...], running: [...] }`.
 */
export async function resumeSandboxes(
  connection: SandboxdConnection,
  sandboxIds: readonly string[],
  opts: { json?: boolean; timeout?: string },
  io: Output,
): Promise<number> {
  const timeoutMs = parseSecondsMs(opts.timeout, '--timeout');
  const resumed: string[] = [];
  const running: string[] = [];
  for (const id of sandboxIds) {
    try {
      const before = await Sandbox.getInfo(id, sdkOptions(connection));
      await Sandbox.connect(id, { ...sdkOptions(connection), ...(timeoutMs === undefined ? {} : { timeoutMs }) });
      (before.state === 'paused' ? resumed : running).push(id);
    } catch (error) {
      throw toCliError(error, connection, id);
    }
  }
  if (opts.json) io.out(json({ resumed, running }));
  else {
    for (const id of resumed) io.out(`resumed ${id}`);
    for (const id of running) io.out(`${id} was running`);
  }
  return 0;
}
