import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { createExitWatch, processIdentity } from './exit-watch.js';

test('processIdentity names a live process and nothing for a missing pid', async () => {
  const self = processIdentity(process.pid);
  assert.equal(self?.pid, process.pid);
  assert.ok(self && self.startTime.length > 0);
  assert.equal(processIdentity(2 ** 22 + 12345), undefined);
});

test('an exit of a watched process is reported once, within the interval', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  const pid = child.pid ?? 0;
  const identity = processIdentity(pid);
  assert.ok(identity);
  const reports: Array<{ id: string; at: number }> = [];
  const watch = createExitWatch((id) => reports.push({ id, at: Date.now() }), 50);
  watch.watch('sbx', identity);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(reports.length, 0, 'a live process is not reported');
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, 400));
  watch.stop();
  assert.equal(reports.length, 1);
  assert.equal(reports[0]?.id, 'sbx');
  assert.ok((reports[0]?.at ?? 0) - killedAt < 300, 'reported within a few intervals');
});

test('a zombie counts as exited, and a pid with another start time is not the watched process', async () => {
  const identity = processIdentity(process.pid);
  assert.ok(identity);
  const reports: string[] = [];
  const watch = createExitWatch((id) => reports.push(id), 20);
  watch.watch('reused', { pid: identity.pid, startTime: `${identity.startTime}0` });
  watch.watch('self', identity);
  await new Promise((r) => setTimeout(r, 150));
  watch.stop();
  assert.deepEqual(reports, ['reused']);
});
