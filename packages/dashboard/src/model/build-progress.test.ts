import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgress } from './build-progress.js';

describe('buildProgress', () => {
  it('follows the [i/n] step lines, cached ones included, then the finalize step', () => {
    assert.equal(buildProgress(['FROM TEMPLATE base (tbase)']), undefined);
    assert.deepEqual(buildProgress(['FROM TEMPLATE base', 'CACHED [1/3] RUN apt-get update', '[2/3] RUN echo hi', 'hi']), { step: 2, of: 3, current: 'RUN echo hi', finalizing: false });
    assert.deepEqual(buildProgress(['[3/3] USER user', 'FINALIZE start: (none), ready: (none)']), { step: 3, of: 3, current: 'FINALIZE start: (none), ready: (none)', finalizing: true });
  });
});
