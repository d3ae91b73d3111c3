import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MIN_PID_MAX, ensureHostPidSpace } from './host-pid-space.js';

test('raises a low pid_max and never lowers a high one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pid-max-'));
  try {
    const file = join(dir, 'pid_max');
    await writeFile(file, '32768\n');
    assert.equal(await ensureHostPidSpace(file), MIN_PID_MAX);
    assert.equal((await readFile(file, 'utf8')).trim(), String(MIN_PID_MAX));
    await writeFile(file, '8388608\n');
    assert.equal(await ensureHostPidSpace(file), 8388608);
    assert.equal((await readFile(file, 'utf8')).trim(), '8388608');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
