import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitInfo } from './exit-status.js';

describe('exitInfo', () => {
  it('reports normal exits like Go ProcessState', () => {
    assert.deepEqual(exitInfo(0, null), { exitCode: 0, exited: true, status: 'exit status 0' });
    assert.deepEqual(exitInfo(2, null), { exitCode: 2, exited: true, status: 'exit status 2', error: 'exit status 2' });
  });
  it('reports signal deaths with exit code -1', () => {
    assert.deepEqual(exitInfo(null, 'SIGKILL'), { exitCode: -1, exited: false, status: 'signal: killed', error: 'signal: killed' });
    assert.equal(exitInfo(null, 15).status, 'signal: terminated');
    assert.equal(exitInfo(0, 'SIGSEGV').status, 'signal: segmentation fault');
  });
});
