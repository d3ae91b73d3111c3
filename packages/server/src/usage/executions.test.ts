import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CODE_INTERPRETER_PORT, ENVD_PORT } from '@sandboxd/protocol';
import { activityOf } from './executions.js';

describe('executions seen by the proxy', () => {
  it('counts POST /execute of the code interpreter and process Start of envd only', () => {
    assert.equal(activityOf('POST', CODE_INTERPRETER_PORT, '/execute'), 'execution');
    assert.equal(activityOf('POST', CODE_INTERPRETER_PORT, '/execute?x=1'), 'execution');
    assert.equal(activityOf('POST', ENVD_PORT, '/process.Process/Start'), 'command');
    assert.equal(activityOf('GET', CODE_INTERPRETER_PORT, '/execute'), undefined);
    assert.equal(activityOf('POST', CODE_INTERPRETER_PORT, '/contexts'), undefined);
    assert.equal(activityOf('POST', ENVD_PORT, '/process.Process/List'), undefined);
    assert.equal(activityOf('POST', ENVD_PORT, '/execute'), undefined);
    assert.equal(activityOf('POST', 8080, '/process.Process/Start'), undefined);
  });
});
