import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

const bad = (message: string) => new SandboxdError(ErrorCode.BAD_REQUEST, message);

/** Commander collector for a repeatable option (`--env A=1 --env B=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `K=V` pairs (of `--env` or `--metadata`, named by `option`) as a record. The value may contain
 * `=` and be empty; the key may not. A later pair wins over an earlier one with the same key.
 */
export function parseKeyValues(pairs: readonly string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw bad(`${option} takes KEY=VALUE, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** A positive whole number of seconds (`--timeout`), as milliseconds; undefined when absent. */
export function parseSecondsMs(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw bad(`${option} takes a positive whole number of seconds, got ${JSON.stringify(value)}`);
  return Number(value) * 1000;
}

/** One side of `sandboxd sandbox cp`: a path on this machine or `<sandboxId>:<path>` in a sandbox. */
export type CpLocation = { kind: 'local'; path: string } | { kind: 'sandbox'; sandboxId: string; path: string };

/**
 * Parses a `cp` argument. `<id>:<path>` (the id made of letters, digits, `-` and `_`) names a path
 * in a sandbox; anything else is a local path. A local path with a colon before its first slash is
 * written `./a:b`, as with scp.
 */
export function parseCpLocation(arg: string): CpLocation {
  const match = /^([A-Za-z0-9][A-Za-z0-9_-]*):(.*)$/s.exec(arg);
  if (!match) {
    if (arg === '') throw bad('cp: a path is empty');
    return { kind: 'local', path: arg };
  }
  const [, sandboxId = '', path = ''] = match;
  if (path === '') throw bad(`cp: ${JSON.stringify(arg)} names no path inside sandbox ${sandboxId} (write ${sandboxId}:/path)`);
  return { kind: 'sandbox', sandboxId, path };
}

/** The two sides of a `cp`, exactly one of them in a sandbox. */
export type CpPlan =
  | { direction: 'upload'; local: string; sandboxId: string; remote: string }
  | { direction: 'download'; sandboxId: string; remote: string; local: string };

export function parseCpArgs(src: string, dst: string): CpPlan {
  const from = parseCpLocation(src);
  const to = parseCpLocation(dst);
  if (from.kind === 'sandbox' && to.kind === 'sandbox') throw bad('cp copies between this machine and a sandbox: only one side may be <sandboxId>:<path>');
  if (from.kind === 'local' && to.kind === 'local') throw bad('cp needs one side in a sandbox, written <sandboxId>:<path>');
  return from.kind === 'sandbox'
    ? { direction: 'download', sandboxId: from.sandboxId, remote: from.path, local: to.path }
    : { direction: 'upload', local: from.path, sandboxId: (to as { sandboxId: string }).sandboxId, remote: to.path };
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes `arg` for a POSIX shell (left as is when it needs no quoting). */
export function shellQuote(arg: string): string {
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The shell command line `exec` runs (the sandbox runs commands through `bash -l -c`). One argument
 * is a command line of its own (`'echo $HOME | wc -c'`); several are an argv, each quoted.
 */
export function commandLine(args: readonly string[]): string {
  if (args.length === 0) throw bad('exec needs a command: sandboxd sandbox exec <id> -- <cmd...>');
  if (args.length === 1) return args[0]!;
  return args.map(shellQuote).join(' ');
}
