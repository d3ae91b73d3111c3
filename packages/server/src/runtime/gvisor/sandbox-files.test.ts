import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { readRecord, readRecords, sandboxPaths, writeRecord, type RuntimeRecord } from './sandbox-files.js';

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
