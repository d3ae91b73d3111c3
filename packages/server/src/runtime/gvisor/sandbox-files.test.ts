import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { RUN_DIR_CA_BUNDLE, RUN_DIR_HOST_CAS } from '../sandbox-trust-paths.js';
import { readRecord, readRecords, sandboxPaths, writeRecord, writeSandboxFiles, type RuntimeRecord } from './sandbox-files.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

test('writeRecord replaces the record in place and leaves no temporary file behind', async () => {
  const sandboxesDir = await mkdtemp(join(tmpdir(), 'sandboxd-files-'));
  dirs.push(sandboxesDir);
  const record: RuntimeRecord = { sandboxId: 'sbx1', slot: 3, address: '10.213.0.14', egress: { allowInternetAccess: true, allowOut: [], denyOut: [] } };
  await mkdir(sandboxPaths(sandboxesDir, 'sbx1').dir, { recursive: true });
  await writeRecord(sandboxesDir, record);
  assert.deepEqual(await readRecord(sandboxesDir, 'sbx1'), record);
  const updated = { ...record, egress: { allowInternetAccess: true, allowOut: ['1.1.1.1'], denyOut: ['0.0.0.0/0'] } };
  await writeRecord(sandboxesDir, updated);
  assert.deepEqual(await readRecord(sandboxesDir, 'sbx1'), updated);
  assert.deepEqual(await readdir(sandboxPaths(sandboxesDir, 'sbx1').dir), ['runtime.json']);
  assert.deepEqual(await readRecords(sandboxesDir), [updated]);
});

test('writeRecord fails (and creates nothing) for a sandbox whose directory is gone', async () => {
  const sandboxesDir = await mkdtemp(join(tmpdir(), 'sandboxd-files-'));
  dirs.push(sandboxesDir);
  const record: RuntimeRecord = { sandboxId: 'gone', slot: 1, address: '10.213.0.6', egress: { allowInternetAccess: false, allowOut: [], denyOut: [] } };
  await assert.rejects(writeRecord(sandboxesDir, record), /ENOENT/);
  assert.deepEqual(await readdir(sandboxesDir), []);
});

test('writeSandboxFiles hands the sandbox its CA bundles, world-readable', async () => {
  const sandboxesDir = await mkdtemp(join(tmpdir(), 'sandboxd-files-'));
  dirs.push(sandboxesDir);
  const record: RuntimeRecord = { sandboxId: 'sbx2', slot: 2, address: '10.213.0.10', egress: { allowInternetAccess: true, allowOut: [], denyOut: [] } };
  const agentConfig = { sandboxId: 'sbx2', templateId: 't', accessToken: null, envVars: {}, defaultUser: 'user', bootKernels: false, pidsLimit: 64 };
  await writeSandboxFiles(sandboxesDir, record, {}, agentConfig, 'nameserver 1.1.1.1\n', { bundle: 'ALL\n', hostOnly: 'HOST\n' });
  const { runDir } = sandboxPaths(sandboxesDir, 'sbx2');
  assert.equal(await readFile(join(runDir, RUN_DIR_CA_BUNDLE), 'utf8'), 'ALL\n');
  assert.equal(await readFile(join(runDir, RUN_DIR_HOST_CAS), 'utf8'), 'HOST\n');
  assert.equal((await stat(join(runDir, RUN_DIR_CA_BUNDLE))).mode & 0o777, 0o644);
  assert.equal((await stat(join(runDir, 'agent.json'))).mode & 0o777, 0o600);
});
