import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planStep, shq } from './step-commands.js';
import type { BuildContext } from './build-types.js';

const ctx: BuildContext = { user: 'user', workdir: '/home/user', env: {} };

describe('planStep', () => {
  it('RUN runs as the step user, else the context user, and keeps the context', () => {
    assert.deepEqual(planStep({ type: 'RUN', args: ['make'] }, ctx), { script: 'make', user: 'user', next: ctx });
    assert.equal(planStep({ type: 'RUN', args: ['apt-get update', 'root'] }, ctx).user, 'root');
  });

  it('ENV adds pairs to the context without running anything', () => {
    const plan = planStep({ type: 'ENV', args: ['A', '1', 'B', 'x y'] }, { ...ctx, env: { A: '0', C: '3' } });
    assert.equal(plan.script, undefined);
    assert.deepEqual(plan.next.env, { A: '1', C: '3', B: 'x y' });
    assert.throws(() => planStep({ type: 'ENV', args: ['A'] }, ctx), /key and value/);
  });

  it('WORKDIR resolves relative paths against the current one and creates it as root', () => {
    const plan = planStep({ type: 'WORKDIR', args: ['app'] }, ctx);
    assert.equal(plan.next.workdir, '/home/user/app');
    assert.equal(plan.user, 'root');
    assert.match(plan.script ?? '', /mkdir -p "\$t" && chown -R 'user': "\$first"/);
  });

  it('USER switches the context user and creates a missing one', () => {
    const plan = planStep({ type: 'USER', args: ['app'] }, ctx);
    assert.equal(plan.next.user, 'app');
    assert.match(plan.script ?? '', /id -u 'app' .*useradd --create-home --shell \/bin\/bash 'app'/);
  });

  it('COPY needs uploaded files and copies as root with the owner given or the context user', () => {
    assert.throws(() => planStep({ type: 'COPY', args: ['app', '/srv/'] }, ctx), /filesHash/);
    const plan = planStep({ type: 'COPY', args: ['app', 'dest/', '', ''], filesHash: 'abc' }, ctx);
    assert.equal(plan.user, 'root');
    assert.equal(plan.filesHash, 'abc');
    assert.match(plan.script ?? '', /dest='\/home\/user\/dest\/'; owner='user'/);
    assert.match(planStep({ type: 'COPY', args: ['a', '/x', 'app', '0755'], filesHash: 'h' }, ctx).script ?? '', /owner='app'; mode='0755'/);
  });

  it('rejects unknown steps', () => {
    assert.throws(() => planStep({ type: 'FROB', args: [] }, ctx), /unsupported step type "FROB"/);
  });
});

describe('shq', () => {
  it('quotes for sh, single quotes included', () => {
    assert.equal(shq("it's"), `'it'\\''s'`);
  });
});
