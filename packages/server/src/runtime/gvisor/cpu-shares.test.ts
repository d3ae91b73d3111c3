import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSandboxesParentShares, SANDBOX_BACKGROUND_CPU_SHARES, SANDBOX_CPU_SHARES, sandboxCpuCores, SANDBOXES_PARENT_CPU_SHARES, setSandboxCpuShares, sharesToWeight } from './cpu-shares.js';

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

test("one sandbox's CPU weight is set in its own cgroup (v1 shares, v2 weight by the OCI conversion)", async () => {
  const v1 = await mkdtemp(join(tmpdir(), 'cg-'));
  await mkdir(join(v1, 'cpu', 'sandboxd', 'iabc'), { recursive: true });
  await setSandboxCpuShares('iabc', SANDBOX_CPU_SHARES, v1);
  assert.equal(await readFile(join(v1, 'cpu', 'sandboxd', 'iabc', 'cpu.shares'), 'utf8'), '1024');
  const v2 = await mkdtemp(join(tmpdir(), 'cg-'));
  await mkdir(join(v2, 'sandboxd', 'iabc'), { recursive: true });
  await setSandboxCpuShares('iabc', SANDBOX_BACKGROUND_CPU_SHARES, v2);
  assert.equal(await readFile(join(v2, 'sandboxd', 'iabc', 'cpu.weight'), 'utf8'), String(sharesToWeight(SANDBOX_BACKGROUND_CPU_SHARES)));
  assert.deepEqual([sharesToWeight(2), sharesToWeight(1024), sharesToWeight(262144)], [1, 39, 10000]);
  await assert.rejects(setSandboxCpuShares('inothere', 1024, v2), /ENOENT/);
});
