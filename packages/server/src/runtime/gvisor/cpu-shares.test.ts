import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSandboxesParentShares, sandboxCpuCores, SANDBOXES_PARENT_CPU_SHARES } from './cpu-shares.js';

test('a sandbox quota leaves headroom on the host', () => {
  assert.equal(sandboxCpuCores(2, 2), 1.5);
  assert.equal(sandboxCpuCores(1, 2), 1);
  assert.equal(sandboxCpuCores(8, 16), 8);
  assert.equal(sandboxCpuCores(4, 1), 0.5);
});

test('the sandboxes parent gets a low cpu weight (v1 layout)', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cg-'));
  await mkdir(join(root, 'cpu'));
  await ensureSandboxesParentShares(root);
  assert.equal(await readFile(join(root, 'cpu', 'sandboxd', 'cpu.shares'), 'utf8'), String(SANDBOXES_PARENT_CPU_SHARES));
});
