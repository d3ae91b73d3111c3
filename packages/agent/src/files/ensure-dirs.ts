import { chown, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/**
 * Creates `path` and missing parents one level at a time, chowning each created directory to
 * uid/gid (existing ones are left alone). A non-directory on the way is BAD_REQUEST.
 */
export async function ensureDirs(path: string, uid: number, gid: number): Promise<void> {
  const chain: string[] = [];
  for (let p = path; ; p = dirname(p)) {
    chain.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const dir of chain) {
    const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st) {
      if (!st.isDirectory()) throw new SandboxdError(ErrorCode.BAD_REQUEST, `path is a file: ${dir}`);
      continue;
    }
    try {
      await mkdir(dir, { mode: 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      continue;
    }
    await chown(dir, uid, gid);
  }
}
