import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { baseKey, stepKey } from './step-hash.js';
import type { BuildContext, BuildStep } from './build-types.js';

const ctx: BuildContext = { user: 'user', workdir: '/home/user', env: { A: '1', B: '2' } };
const run: BuildStep = { type: 'RUN', args: ['echo hi'] };
const parent = baseKey('template', '/var/lib/sandboxd/templates/abc/rootfs');

describe('stepKey', () => {
  it('is stable for equal inputs, whatever the order of the environment', () => {
    assert.equal(stepKey(parent, run, ctx), stepKey(parent, { type: 'run', args: ['echo hi'] }, { ...ctx, env: { B: '2', A: '1' } }));
  });

  it('changes with the base, the step, the copied files and the context', () => {
    const key = stepKey(parent, run, ctx);
    const variants = [
      stepKey(baseKey('template', '/other/rootfs'), run, ctx),
      stepKey(baseKey('image', '/var/lib/sandboxd/templates/abc/rootfs'), run, ctx),
      stepKey(parent, { type: 'RUN', args: ['echo hi', 'root'] }, ctx),
      stepKey(parent, { type: 'RUN', args: ['echo ho'] }, ctx),
      stepKey(parent, { ...run, filesHash: 'f1' }, ctx),
      stepKey(parent, { type: 'COPY', args: ['echo hi'] }, ctx),
      stepKey(parent, run, { ...ctx, user: 'root' }),
      stepKey(parent, run, { ...ctx, workdir: '/srv' }),
      stepKey(parent, run, { ...ctx, env: { A: '1', B: '3' } }),
    ];
    for (const variant of variants) assert.notEqual(variant, key);
    assert.equal(new Set(variants).size, variants.length);
  });

  it('chains: a changed earlier step changes every later key', () => {
    const a1 = stepKey(parent, run, ctx);
    const b1 = stepKey(parent, { type: 'RUN', args: ['echo other'] }, ctx);
    assert.notEqual(stepKey(a1, run, ctx), stepKey(b1, run, ctx));
  });

  it('distinguishes files by hash alone', () => {
    const copy = (filesHash: string): BuildStep => ({ type: 'COPY', args: ['app', '/srv/'], filesHash });
    assert.notEqual(stepKey(parent, copy('h1'), ctx), stepKey(parent, copy('h2'), ctx));
    assert.equal(stepKey(parent, copy('h1'), ctx), stepKey(parent, copy('h1'), ctx));
  });
});
