import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A local account as /etc/passwd describes it. */
export interface UserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** Name lookups over /etc/passwd and /etc/group, re-read when either file changes. */
export interface UserDb {
  lookup(name: string): UserInfo | undefined;
  /** User name of a uid, or the uid as a string when unknown (as envd reports owners). */
  userName(uid: number): string;
  /** Group name of a gid, or the gid as a string when unknown. */
  groupName(gid: number): string;
}

interface Snapshot {
  key: string;
  byName: Map<string, UserInfo>;
  uidNames: Map<number, string>;
  gidNames: Map<number, string>;
}

export function parsePasswd(text: string): UserInfo[] {
  const users: UserInfo[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    users.push({ name: f[0] ?? '', uid, gid, home: f[5] ?? '/', shell: f[6] ?? '' });
  }
  return users;
}

export function parseGroup(text: string): Array<{ name: string; gid: number }> {
  const groups: Array<{ name: string; gid: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = Number(f[2]);
    if (f.length < 3 || !Number.isInteger(gid)) continue;
    groups.push({ name: f[0] ?? '', gid });
  }
  return groups;
}

export function createUserDb(etcDir = '/etc'): UserDb {
  const passwdPath = join(etcDir, 'passwd');
  const groupPath = join(etcDir, 'group');
  let snapshot: Snapshot | undefined;

  const versionKey = (): string => {
    const part = (p: string): string => {
      try {
        const st = statSync(p);
        return `${st.mtimeMs}:${st.size}:${st.ino}`;
      } catch {
        return 'missing';
      }
    };
    return `${part(passwdPath)}|${part(groupPath)}`;
  };

  const current = (): Snapshot => {
    const key = versionKey();
    if (snapshot?.key === key) return snapshot;
    const read = (p: string): string => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return '';
      }
    };
    const byName = new Map<string, UserInfo>();
    const uidNames = new Map<number, string>();
    for (const u of parsePasswd(read(passwdPath))) {
      if (!byName.has(u.name)) byName.set(u.name, u);
      if (!uidNames.has(u.uid)) uidNames.set(u.uid, u.name);
    }
    const gidNames = new Map<number, string>();
    for (const g of parseGroup(read(groupPath))) {
      if (!gidNames.has(g.gid)) gidNames.set(g.gid, g.name);
    }
    snapshot = { key, byName, uidNames, gidNames };
    return snapshot;
  };

  return {
    lookup: (name) => current().byName.get(name),
    userName: (uid) => current().uidNames.get(uid) ?? String(uid),
    groupName: (gid) => current().gidNames.get(gid) ?? String(gid),
  };
}
