import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyLoginEnv, parseCapture } from './login-env.js';

describe('parseCapture / applyLoginEnv', () => {
  it('reads env -0 output after the marker and nothing else', () => {
    const out = Buffer.from('__SANDBOXD_LOGIN_ENV__\0A=1\0B=x=y\0EMPTY=\0');
    assert.deepEqual(parseCapture(out), { A: '1', B: 'x=y', EMPTY: '' });
    assert.equal(parseCapture(Buffer.from('welcome!\n__SANDBOXD_LOGIN_ENV__\0A=1\0')), undefined);
    assert.equal(parseCapture(Buffer.from('')), undefined);
  });

  it("keeps bash's per-shell variables from the command's input", () => {
    const login = { PATH: '/login', _: '/usr/bin/env', SHLVL: '1', PWD: '/home/u', FOO: 'bar' };
    assert.deepEqual(applyLoginEnv(login, { PATH: '/in', SHLVL: '3' }), { PATH: '/login', FOO: 'bar', SHLVL: '3' });
  });
});
