import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CODE_INTERPRETER_PORT, ENVD_PORT } from '@sandboxd/protocol';
import { isExecution } from './executions.js';

describe('executions seen by the proxy', () => {
  it('counts POST /execute of the code interpreter and process Start of envd only', () => {
    assert.equal(isExecution('POST', CODE_INTERPRETER_PORT, '/execute'), true);
    assert.equal(isExecution('POST', CODE_INTERPRETER_PORT, '/execute?x=1'), true);
    assert.equal(isExecution('POST', ENVD_PORT, '/process.Process/Start'), true);
    assert.equal(isExecution('GET', CODE_INTERPRETER_PORT, '/execute'), false);
    assert.equal(isExecution('POST', CODE_INTERPRETER_PORT, '/contexts'), false);
    assert.equal(isExecution('POST', ENVD_PORT, '/process.Process/List'), false);
    assert.equal(isExecution('POST', ENVD_PORT, '/execute'), false);
    assert.equal(isExecution('POST', 8080, '/process.Process/Start'), false);
  });
});
