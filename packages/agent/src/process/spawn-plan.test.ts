import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asUser, loginShellCommand, planSpawn } from './spawn-plan.js';

const user = { name: 'u', uid: 1000, gid: 1000, home: '/', shell: '/bin/bash' };

describe('spawn plan', () => {
  it('recognises exactly the SDK login-shell shape', () => {
    assert.equal(loginShellCommand('/bin/bash', ['-l', '-c', 'echo hi']), 'echo hi');
    assert.equal(loginShellCommand('/bin/bash', ['-c', 'echo hi']), undefined);
    assert.equal(loginShellCommand('/bin/bash', ['-l', '-c', 'x', 'arg0']), undefined);
    assert.equal(loginShellCommand('bash', ['-l', '-c', 'x']), undefined);
    assert.equal(loginShellCommand('/bin/bash', ['-i', '-l']), undefined);
  });

  it('switches user through setpriv with the groups, or spawn credentials without it', () => {
    assert.deepEqual(asUser('/bin/true', ['a'], user, { agentUid: 1000, setprivPath: '/usr/bin/setpriv' }), { file: '/bin/true', args: ['a'] });
    assert.deepEqual(asUser('/bin/true', ['a'], user, { agentUid: 0, setprivPath: '/usr/bin/setpriv' }), {
      file: '/usr/bin/setpriv',
      args: ['--reuid=1000', '--regid=1000', '--init-groups', '--', '/bin/true', 'a'],
    });
    assert.deepEqual(asUser('/bin/true', [], { ...user, name: '' }, { agentUid: 0, setprivPath: '/usr/bin/setpriv' }).args.slice(0, 3), [
      '--reuid=1000',
      '--regid=1000',
      '--clear-groups',
    ]);
    assert.deepEqual(asUser('/bin/true', [], user, { agentUid: 0, setprivPath: undefined }), { file: '/bin/true', args: [], uid: 1000, gid: 1000 });
  });

  it('runs `bash -l -c X` as `bash -c X` with the login environment when there is one', async () => {
    const ctx = { path: '/usr/bin:/bin', sandboxEnv: { S: '1' }, agentUid: 1000, setprivPath: undefined };
    const seen: Array<Record<string, string>> = [];
    const login = { ...ctx, loginEnv: async (_u: unknown, env: Record<string, string>) => (seen.push(env), { PATH: '/login', L: '1' }) };
    const plan = await planSpawn({ cmd: '/bin/bash', args: ['-l', '-c', 'true'], envs: { R: '2' } }, user, login);
    assert.deepEqual(plan.args, ['-c', 'true']);
    assert.deepEqual(plan.env, { PATH: '/login', L: '1' });
    assert.deepEqual(seen, [{ PATH: '/usr/bin:/bin', HOME: '/', USER: 'u', LOGNAME: 'u', S: '1', R: '2' }]);
    const none = await planSpawn({ cmd: '/bin/bash', args: ['-l', '-c', 'true'], envs: {} }, user, { ...ctx, loginEnv: async () => undefined });
    assert.deepEqual(none.args, ['-l', '-c', 'true']);
    const other = await planSpawn({ cmd: '/bin/bash', args: ['-c', 'true'], envs: {} }, user, login);
    assert.deepEqual(other.args, ['-c', 'true']);
    assert.equal(other.env['PATH'], '/usr/bin:/bin');
  });
});
