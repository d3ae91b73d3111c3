import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from '../store/database.js';
import { FakeRuntime } from '../testing/fake-runtime.js';
import { silentLogger, staticTemplates } from '../testing/harness.js';
import { createBuildStore } from './build-store.js';
import { createTemplateBuildService } from './build-service.js';

const dir = mkdtempSync(join(tmpdir(), 'build-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('build store', () => {
  it('keeps builds and their logs in order; builds left running fail at the next open', () => {
    const db = openDatabase(':memory:');
    const store = createBuildStore(db);
    store.saveRequest({ templateId: 't1', name: 'app', tags: ['v1'], cpuCount: 1, memoryMB: 512 });
    store.saveBuild({ buildId: 'b1', templateId: 't1', status: 'building', createdAt: '2030-01-01T00:00:00.000Z' });
    store.appendLog('b1', 0, { timestamp: '2030-01-01T00:00:01.000Z', level: 'info', message: 'first', step: '1' });
    store.appendLog('b1', 1, { timestamp: '2030-01-01T00:00:02.000Z', level: 'error', message: 'second' });
    assert.deepEqual(store.request('t1'), { templateId: 't1', name: 'app', tags: ['v1'], cpuCount: 1, memoryMB: 512 });
    assert.equal(store.requestedId('app'), 't1');
    assert.equal(store.build('other', 'b1'), undefined, 'a build is found under its own template only');

    const reopened = createBuildStore(db);
    assert.equal(reopened.failInterrupted('2030-01-01T00:01:00.000Z'), 1);
    const build = reopened.build('t1', 'b1');
    assert.equal(build?.status, 'error');
    assert.equal(build?.finishedAt, '2030-01-01T00:01:00.000Z');
    assert.match(build?.reason?.message ?? '', /daemon stopped during the build/);
    assert.deepEqual(reopened.log('b1').map((e) => [e.message, e.step]), [['first', '1'], ['second', undefined]]);

    reopened.removeTemplate('t1');
    assert.equal(reopened.build('t1', 'b1'), undefined);
    assert.deepEqual(reopened.log('b1'), []);
    assert.equal(reopened.request('t1'), undefined);
  });

  it('a build id the service handed out is still known to the next service on the same database', () => {
    const db = openDatabase(':memory:');
    const deps = { runtime: new FakeRuntime(), builtIn: staticTemplates(), dir, db, logger: silentLogger };
    const first = createTemplateBuildService(deps);
    const { templateID, buildID } = first.request({ name: 'restart-app:v2', cpuCount: 1, memoryMB: 512 });
    first.stop();

    const second = createTemplateBuildService(deps);
    const status = second.status(templateID, buildID, {});
    assert.equal(status.status, 'waiting');
    assert.deepEqual(status.logEntries, []);
    assert.equal(second.request({ name: 'restart-app' }).templateID, templateID, 'the same name gets the same template id');
    assert.throws(() => second.status(templateID, 'no-such-build', {}), /not found/);
  });
});
