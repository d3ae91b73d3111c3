import { constants } from 'node:fs';

const { S_IFMT, S_IFDIR, S_IFLNK, S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK } = constants;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/**
 * Go's os.FileMode.String() for a Unix st_mode, which envd reports as `permissions`:
 * type/special letters in Go's order (d L D p S u g c t), "-" when none, then rwx triplets.
 */
export function goModeString(mode: number): string {
  const fmt = mode & S_IFMT;
  let prefix = '';
  if (fmt === S_IFDIR) prefix += 'd';
  if (fmt === S_IFLNK) prefix += 'L';
  if (fmt === S_IFBLK || fmt === S_IFCHR) prefix += 'D';
  if (fmt === S_IFIFO) prefix += 'p';
  if (fmt === S_IFSOCK) prefix += 'S';
  if (mode & S_ISUID) prefix += 'u';
  if (mode & S_ISGID) prefix += 'g';
  if (fmt === S_IFCHR) prefix += 'c';
  if (mode & S_ISVTX) prefix += 't';
  if (prefix === '') prefix = '-';
  const rwx = 'rwxrwxrwx';
  let perms = '';
  for (let i = 0; i < 9; i++) perms += mode & (1 << (8 - i)) ? rwx[i] : '-';
  return prefix + perms;
}
