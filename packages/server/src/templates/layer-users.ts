import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LayerUser {
  uid: number;
  gid: number;
  home: string;
}

/**
 * A file as an overlay of `dirs` (top first) shows it: the topmost layer holding it. Symlinked
 * files are not followed (they could point anywhere on the host).
 */
export function readLayered(dirs: string[], rel: string): string | undefined {
  for (const dir of dirs) {
    const path = join(dir, rel);
    if (!existsSync(path)) continue;
    const stat = lstatSync(path);
    if (!stat.isFile()) return undefined;
    return readFileSync(path, 'utf8');
  }
  return undefined;
}

/** Whether any layer has `rel` (file or link). */
export function existsLayered(dirs: string[], rel: string): boolean {
  return dirs.some((dir) => {
    try {
      lstatSync(join(dir, rel));
      return true;
    } catch {
      return false;
    }
  });
}

/** A user by name (or `uid[:gid]`) from the layered /etc/passwd. */
export function lookupUser(dirs: string[], user: string): LayerUser | undefined {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(user);
  const passwd = readLayered(dirs, 'etc/passwd') ?? '';
  for (const line of passwd.split('\n')) {
    const [name, , uid, gid, , home] = line.split(':');
    if (uid === undefined || gid === undefined) continue;
    if (name === user || (numeric && numeric[1] === uid)) return { uid: Number(uid), gid: numeric?.[2] ? Number(numeric[2]) : Number(gid), home: home || '/' };
  }
  if (numeric) return { uid: Number(numeric[1]), gid: Number(numeric[2] ?? numeric[1]), home: '/' };
  return undefined;
}
