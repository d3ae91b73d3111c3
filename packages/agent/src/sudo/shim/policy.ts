/**
 * sudo's command line and environment policy, as Debian's sudoers configures it (env_reset,
 * secure_path, NOPASSWD ALL), for the Node.js sudo shim (`main.ts`): the same rules as the Python
 * shim (`packages/agent/sudo/sudo`), which images without `/usr/bin/python3` cannot run. Pure
 * functions of their inputs; the shim reads the process state and passes it in.
 */
import { SANDBOX_DEFAULT_PATH } from '@sandboxd/protocol';

/** sudo's secure_path: the sandbox's default PATH. */
export const SECURE_PATH = SANDBOX_DEFAULT_PATH;
/** The broker's socket (`DEFAULT_SUDO_SOCKET` of the broker; `SANDBOXD_SUDO_SOCKET` overrides it). */
export const DEFAULT_SOCKET = '/run/sandboxd-sudo/sudo.sock';
export const VERSION = '1.9.16p2';

/** Debian sudo's env_keep and env_check lists (sudo -V as root). */
const ENV_KEEP = new Set([
  'COLORS',
  'DISPLAY',
  'DPKG_COLORS',
  'HOSTNAME',
  'KRB5CCNAME',
  'LS_COLORS',
  'PS1',
  'PS2',
  'XAUTHORITY',
  'XAUTHORIZATION',
  'XDG_CURRENT_DESKTOP',
]);
const ENV_CHECK = new Set(['COLORTERM', 'LANG', 'LANGUAGE', 'LINGUAS', 'TERM', 'TZ']);

export const USAGE = `usage: sudo -h | -K | -k | -V
usage: sudo -v [-ABkNnS] [-g group] [-h host] [-p prompt] [-u user]
usage: sudo -l [-ABkNnS] [-g group] [-h host] [-p prompt] [-U user] [-u user] [command [arg ...]]
usage: sudo [-ABbEHkNnPS] [-C num] [-D directory] [-g group] [-h host] [-p prompt] [-R directory] [-T timeout] [-u user] [VAR=value] [-i | -s] [command [arg ...]]
usage: sudo -e [-ABkNnS] [-C num] [-D directory] [-g group] [-h host] [-p prompt] [-R directory] [-T timeout] [-u user] file ...
`;

const SHORT_FLAGS = new Set('ABbEeHiKklNnPSsVv');
const SHORT_ARGS = new Set('aCcDgpRrTtUu');
/** Long options: name → [short equivalent or key, argument: 0 none, 1 required, 2 optional]. */
const LONG_OPTS: Record<string, [string, 0 | 1 | 2]> = {
  askpass: ['A', 0],
  bell: ['B', 0],
  background: ['b', 0],
  'close-from': ['C', 1],
  chdir: ['D', 1],
  'preserve-env': ['preserve-env', 2],
  edit: ['e', 0],
  group: ['g', 1],
  'set-home': ['H', 0],
  help: ['help', 0],
  host: ['host', 1],
  login: ['i', 0],
  'remove-timestamp': ['K', 0],
  'reset-timestamp': ['k', 0],
  list: ['l', 0],
  'non-interactive': ['n', 0],
  'no-update': ['N', 0],
  'preserve-groups': ['P', 0],
  prompt: ['p', 1],
  chroot: ['R', 1],
  role: ['r', 1],
  stdin: ['S', 0],
  shell: ['s', 0],
  type: ['t', 1],
  'command-timeout': ['T', 1],
  'other-user': ['U', 1],
  user: ['u', 1],
  version: ['V', 0],
  validate: ['v', 0],
  'auth-type': ['a', 1],
  'login-class': ['c', 1],
};

export class UsageError extends Error {}

export interface ParsedArgs {
  opts: Array<[string, string | undefined]>;
  assignments: Array<[string, string]>;
  command: string[];
}

/** getopt_long with '+' (stop at the first non-option), then VAR=value assignments. */
export function parseArgs(args: string[]): ParsedArgs {
  const opts: Array<[string, string | undefined]> = [];
  let i = 0;
  while (i < args.length) {
    const a = args[i] as string;
    if (a === '--') {
      i += 1;
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const exact = Object.keys(LONG_OPTS).filter((k) => k === name);
      const matches = exact.length > 0 ? exact : Object.keys(LONG_OPTS).filter((k) => k.startsWith(name));
      if (matches.length !== 1) throw new UsageError(matches.length === 0 ? `unrecognized option '${a}'` : `option '${a}' is ambiguous`);
      const long = matches[0] as string;
      const [key, kind] = LONG_OPTS[long] as [string, 0 | 1 | 2];
      if (kind === 0) {
        if (eq >= 0) throw new UsageError(`option '--${long}' doesn't allow an argument`);
        opts.push([key, undefined]);
      } else if (kind === 1) {
        let val = eq >= 0 ? a.slice(eq + 1) : undefined;
        if (val === undefined) {
          i += 1;
          if (i >= args.length) throw new UsageError(`option '--${long}' requires an argument`);
          val = args[i] as string;
        }
        opts.push([key, val]);
      } else {
        opts.push([key, eq >= 0 ? a.slice(eq + 1) : undefined]);
      }
      i += 1;
      continue;
    }
    if (a.startsWith('-') && a !== '-') {
      for (let j = 1; j < a.length; j++) {
        const c = a[j] as string;
        if (c === 'h') {
          // -h alone is help; -hHOST (attached) names a host.
          opts.push(j + 1 < a.length ? ['host', a.slice(j + 1)] : ['help', undefined]);
          break;
        }
        if (SHORT_FLAGS.has(c)) {
          opts.push([c, undefined]);
          continue;
        }
        if (SHORT_ARGS.has(c)) {
          let val = a.slice(j + 1);
          if (val === '') {
            i += 1;
            if (i >= args.length) throw new UsageError(`option requires an argument -- '${c}'`);
            val = args[i] as string;
          }
          opts.push([c, val]);
          break;
        }
        throw new UsageError(`invalid option -- '${c}'`);
      }
      i += 1;
      continue;
    }
    break;
  }
  let rest = args.slice(i);
  const assignments: Array<[string, string]> = [];
  while (rest.length > 0) {
    const first = rest[0] as string;
    const eq = first.indexOf('=');
    if (eq <= 0) break;
    const name = first.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) break;
    assignments.push([name, first.slice(eq + 1)]);
    rest = rest.slice(1);
  }
  return { opts, assignments, command: rest };
}

/** One /etc/passwd entry. */
export interface Passwd {
  name: string;
  uid: number;
  gid: number;
  dir: string;
  shell: string;
}

/** /etc/passwd's entries. */
export function parsePasswd(text: string): Passwd[] {
  const out: Passwd[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, uid, gid, dir: f[5] as string, shell: f[6] as string });
  }
  return out;
}

/** A `-u` value: a name, or `#uid` (an unknown uid is itself, with its gid and `/`). */
export function lookupUser(entries: Passwd[], spec: string): Passwd | undefined {
  if (spec.startsWith('#')) {
    const uid = Number(spec.slice(1));
    if (!Number.isInteger(uid) || spec.length === 1) return undefined;
    return entries.find((e) => e.uid === uid) ?? { name: '', uid, gid: uid, dir: '/', shell: '/bin/sh' };
  }
  return entries.find((e) => e.name === spec);
}

/** sudo's escaping of a command passed to a shell by -s / -i. */
export function shellEscape(args: string[]): string {
  return args.map((a) => [...a].map((c) => (/^[\p{L}\p{N}_$-]$/u.test(c) ? c : `\\${c}`)).join('')).join(' ');
}

export interface EnvInput {
  callerEnv: Record<string, string>;
  invoker: Passwd | undefined;
  /** The caller's real uid and gid. */
  uid: number;
  gid: number;
  target: Passwd;
  mode: 'command' | 'shell' | 'login';
  preserveAll: boolean;
  preserveList: Set<string>;
  setHome: boolean;
  assignments: Array<[string, string]>;
  /** SUDO_COMMAND: the resolved command line. */
  command: string;
}

/** The command's environment: env_reset (or -E / --preserve-env), secure_path, SUDO_* and VAR=value. */
export function buildEnv(input: EnvInput): Record<string, string> {
  const { callerEnv, invoker, target, mode } = input;
  let env: Record<string, string>;
  let setHome = input.setHome;
  if (input.preserveAll && mode !== 'login') {
    env = { ...callerEnv };
  } else {
    env = {};
    for (const [k, v] of Object.entries(callerEnv)) {
      if (ENV_KEEP.has(k) || input.preserveList.has(k)) env[k] = v;
      else if ((ENV_CHECK.has(k) || k.startsWith('LC_')) && !v.includes('/') && !v.includes('%')) env[k] = v;
      else if (k === 'TERM') env[k] = v;
    }
    setHome = true;
    env['SHELL'] = target.shell || '/bin/sh';
  }
  if (setHome || mode === 'login') env['HOME'] = target.dir || '/';
  env['HOME'] ??= target.dir || '/';
  env['PATH'] = SECURE_PATH;
  if (mode === 'login') env['SHELL'] = target.shell || '/bin/sh';
  const name = target.name || String(target.uid);
  env['LOGNAME'] = name;
  env['USER'] = name;
  env['MAIL'] = `/var/mail/${name}`;
  env['SUDO_COMMAND'] = input.command.slice(0, 4096);
  env['SUDO_USER'] = invoker ? invoker.name : String(input.uid);
  env['SUDO_UID'] = String(input.uid);
  env['SUDO_GID'] = String(input.gid);
  env['SUDO_HOME'] = invoker ? invoker.dir : '/';
  for (const [k, v] of input.assignments) env[k] = v;
  return env;
}
