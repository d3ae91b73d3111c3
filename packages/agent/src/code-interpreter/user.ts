/** The account kernels run as, read from /etc/passwd. */
import { readFile } from 'node:fs/promises';

export interface UserInfo {
  name: string;
  /** Undefined when the agent cannot switch users (not root): kernels then run as the agent. */
  uid?: number;
  gid?: number;
  home: string;
  shell: string;
}

export function parsePasswd(text: string, name: string): Omit<UserInfo, 'name'> | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields[0] !== name || fields.length < 7) continue;
    return { uid: Number(fields[2]), gid: Number(fields[3]), home: fields[5] || '/', shell: fields[6] || '/bin/sh' };
  }
  return undefined;
}

export async function resolveUser(name: string): Promise<UserInfo> {
  const entry = parsePasswd(await readFile('/etc/passwd', 'utf8').catch(() => ''), name);
  const home = entry?.home ?? (name === 'root' ? '/root' : `/home/${name}`);
  const shell = entry?.shell ?? '/bin/bash';
  const canSwitch = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!entry || !canSwitch) return { name, home, shell };
  return { name, uid: entry.uid, gid: entry.gid, home, shell };
}
