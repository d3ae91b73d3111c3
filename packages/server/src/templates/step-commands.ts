import { posix } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { BuildContext, BuildStep } from './build-types.js';

/** What running one step means: a script run as someone, or only a new context (ENV). */
export interface StepPlan {
  /** Shell script to run in the build sandbox; absent: the step changes no file. */
  script?: string;
  /** Who runs it. */
  user: string;
  /** The uploaded files (COPY): staged as `/tmp/.sandboxd-copy.tar` before the script runs. */
  filesHash?: string;
  /** The context the next step sees. */
  next: BuildContext;
}

/** Single-quoted for sh. */
export const shq = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

const absolute = (path: string, workdir: string): string => (path.startsWith('/') ? path : posix.join(workdir, path));

/**
 * Turns one E2B step into what to run. Arguments as the SDK sends them: RUN [command, user?],
 * COPY [src, dest, owner?, mode?] + filesHash, ENV [key, value, ...], WORKDIR [path], USER [name].
 */
export function planStep(step: BuildStep, context: BuildContext): StepPlan {
  const type = step.type.toUpperCase();
  const args = step.args;
  switch (type) {
    case 'RUN': {
      const command = args[0];
      if (!command) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'RUN requires a command');
      return { script: command, user: args[1] || context.user, next: context };
    }
    case 'ENV':
    case 'ARG': {
      if (args.length === 0 || args.length % 2 !== 0) throw new SandboxdError(ErrorCode.BAD_REQUEST, `${type} requires key and value pairs`);
      const env = { ...context.env };
      for (let i = 0; i < args.length; i += 2) env[args[i] as string] = args[i + 1] as string;
      return { user: context.user, next: { ...context, env } };
    }
    case 'WORKDIR': {
      const path = args[0];
      if (!path) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'WORKDIR requires a path');
      const target = absolute(path, context.workdir);
      // Creates what is missing and gives it (not its existing parents) to the current user.
      const script = `t=${shq(target)}; [ -d "$t" ] && exit 0; first=$t; c=$t; while [ ! -d "$c" ]; do first=$c; c=$(dirname "$c"); done; mkdir -p "$t" && chown -R ${shq(context.user)}: "$first"`;
      return { script, user: 'root', next: { ...context, workdir: target } };
    }
    case 'USER': {
      const name = args[0];
      if (!name) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'USER requires a user name');
      const sudo = args[1] === 'true' ? ` && mkdir -p /etc/sudoers.d && echo ${shq(`${name} ALL=(ALL:ALL) NOPASSWD: ALL`)} > /etc/sudoers.d/${name.replace(/[^A-Za-z0-9_-]/g, '_')}` : '';
      const script = `id -u ${shq(name)} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ${shq(name)}${sudo}`;
      return { script, user: 'root', next: { ...context, user: name } };
    }
    case 'COPY': {
      const [src, dest, owner, mode] = args;
      if (!src || !dest) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'COPY requires a source and a destination');
      if (!step.filesHash) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'COPY requires filesHash (upload the files first)');
      return { script: copyScript(src, absoluteDest(dest, context.workdir), owner || context.user, mode ?? ''), user: 'root', filesHash: step.filesHash, next: context };
    }
    default:
      throw new SandboxdError(ErrorCode.BAD_REQUEST, `unsupported step type "${step.type}"`);
  }
}

/** A relative destination is under the working directory; a trailing slash is kept (it means "into"). */
function absoluteDest(dest: string, workdir: string): string {
  const abs = absolute(dest, workdir);
  return dest.endsWith('/') && !abs.endsWith('/') ? `${abs}/` : abs;
}

/**
 * Docker COPY semantics over the SDK's archive (which holds `src` under its relative path): a file
 * goes to `dest` (into it when `dest` ends with `/` or the source has a wildcard), a directory's contents merge into `dest`;
 * owner and mode apply to what was copied.
 */
function copyScript(src: string, dest: string, owner: string, mode: string): string {
  return [
    'set -e',
    'u=/tmp/.sandboxd-copy; rm -rf "$u"; mkdir -p "$u"; tar -xf /tmp/.sandboxd-copy.tar -C "$u"; rm -f /tmp/.sandboxd-copy.tar',
    `cd "$u"; src=${shq(src.replace(/\/+$/, '') || '.')}; dest=${shq(dest)}; owner=${shq(owner)}; mode=${shq(mode)}`,
    'found=0; case "$src" in *[*?[]*) multi=1;; *) multi=0;; esac',
    'for e in $src; do',
    '  [ -e "$e" ] || [ -L "$e" ] || continue; found=1',
    '  if [ -d "$e" ] && [ ! -L "$e" ]; then',
    '    chown -R "$owner:" "$e"; [ -z "$mode" ] || chmod -R "$mode" "$e"',
    '    mkdir -p "$dest"; (cd "$e" && tar -cf - .) | tar -xf - -C "$dest" --keep-directory-symlink --no-overwrite-dir',
    '  else',
    '    chown -h "$owner:" "$e"; [ -L "$e" ] || [ -z "$mode" ] || chmod "$mode" "$e"',
    // A wildcard source may match several files: then, as in Docker, dest is a directory.
    '    case "$dest" in */) mkdir -p "$dest"; t="$dest$(basename "$e")";; *) if [ "$multi" = 1 ] && mkdir -p "$dest" || { [ -d "$dest" ] && [ "$src" != "$e" ]; }; then t="$dest/$(basename "$e")"; else mkdir -p "$(dirname "$dest")"; t="$dest"; fi;; esac',
    '    rm -rf "$t" 2>/dev/null || true; mv "$e" "$t"',
    '  fi',
    'done',
    'cd /; rm -rf "$u"',
    `[ "$found" = 1 ] || { echo "source path does not exist: ${src.replaceAll('"', '')}" >&2; exit 1; }`,
  ].join('\n');
}
