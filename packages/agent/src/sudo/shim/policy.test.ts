import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_SUDO_SOCKET } from '../broker.js';
import { buildEnv, DEFAULT_SOCKET, lookupUser, parseArgs, parsePasswd, shellEscape, UsageError, type EnvInput } from './policy.js';

const passwd = parsePasswd(['root:x:0:0:root:/root:/bin/bash', '# comment', 'user:x:1000:1000::/home/user:/bin/sh', 'broken:line', ''].join('\n'));
const root = passwd[0];
const user = passwd[1];

describe('Node sudo shim policy', () => {
  it('dials the broker where it listens', () => {
    assert.equal(DEFAULT_SOCKET, DEFAULT_SUDO_SOCKET);
  });

  it('parses options as getopt_long with "+": clustered, attached, long, abbreviated, then VAR=value', () => {
    assert.deepEqual(parseArgs(['-Eu', 'user', 'A=1', 'B_2=x=y', 'cmd', '-u', 'C=3']), {
      opts: [
        ['E', undefined],
        ['u', 'user'],
      ],
      assignments: [
        ['A', '1'],
        ['B_2', 'x=y'],
      ],
      command: ['cmd', '-u', 'C=3'],
    });
    assert.deepEqual(parseArgs(['-uroot', '--preserve-env=FOO,BAR', '--preserve-e', '--user=x', '--', '-n']).opts, [
      ['u', 'root'],
      ['preserve-env', 'FOO,BAR'],
      ['preserve-env', undefined],
      ['u', 'x'],
    ]);
    assert.deepEqual(parseArgs(['-h']).opts, [['help', undefined]]);
    assert.deepEqual(parseArgs(['-hbox', 'true']).opts, [['host', 'box']]);
    assert.deepEqual(parseArgs(['1A=x', 'cmd']).command, ['1A=x', 'cmd']);
    assert.throws(
      () => parseArgs(['-x']),
      (e: unknown) => e instanceof UsageError && e.message === "invalid option -- 'x'",
    );
    assert.throws(() => parseArgs(['-u']), /option requires an argument -- 'u'/);
    assert.throws(() => parseArgs(['--re']), /is ambiguous/);
    assert.throws(() => parseArgs(['--login=1']), /doesn't allow an argument/);
  });

  it('finds users by name and #uid (an unknown uid is itself)', () => {
    assert.equal(passwd.length, 2);
    assert.equal(lookupUser(passwd, 'user')?.dir, '/home/user');
    assert.equal(lookupUser(passwd, '#0')?.name, 'root');
    assert.deepEqual(lookupUser(passwd, '#4242'), { name: '', uid: 4242, gid: 4242, dir: '/', shell: '/bin/sh' });
    assert.equal(lookupUser(passwd, 'nobody-here'), undefined);
    assert.equal(lookupUser(passwd, '#x'), undefined);
  });

  it('escapes a command for -s / -i as sudo does', () => {
    assert.equal(shellEscape(['echo', 'a b', '$HOME', "it's"]), "echo a\\ b $HOME it\\'s");
  });

  const input = (over: Partial<EnvInput> = {}): EnvInput => ({
    callerEnv: { FOO: 'bar', TERM: 'xterm', LANG: 'C.UTF-8', LC_ALL: 'bad/value', DISPLAY: ':0', HOME: '/home/user' },
    invoker: user,
    uid: 1000,
    gid: 1000,
    target: root as NonNullable<typeof root>,
    mode: 'command',
    preserveAll: false,
    preserveList: new Set(),
    setHome: false,
    assignments: [],
    command: '/usr/bin/env',
    ...over,
  });

  it('resets the environment (env_keep, env_check), sets secure_path, the target and SUDO_*', () => {
    assert.deepEqual(buildEnv(input()), {
      TERM: 'xterm',
      LANG: 'C.UTF-8',
      DISPLAY: ':0',
      SHELL: '/bin/bash',
      HOME: '/root',
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      LOGNAME: 'root',
      USER: 'root',
      MAIL: '/var/mail/root',
      SUDO_COMMAND: '/usr/bin/env',
      SUDO_USER: 'user',
      SUDO_UID: '1000',
      SUDO_GID: '1000',
      SUDO_HOME: '/home/user',
    });
  });

  it('keeps the caller environment with -E (HOME too, unless -H), a list with --preserve-env=, and applies VAR=value last', () => {
    const kept = buildEnv(input({ preserveAll: true }));
    assert.equal(kept['FOO'], 'bar');
    assert.equal(kept['HOME'], '/home/user');
    assert.equal(buildEnv(input({ preserveAll: true, setHome: true }))['HOME'], '/root');
    const some = buildEnv(input({ preserveList: new Set(['FOO']) }));
    assert.equal(some['FOO'], 'bar');
    assert.equal(some['LC_ALL'], undefined);
    assert.equal(buildEnv(input({ assignments: [['PATH', '/x']] }))['PATH'], '/x');
    // -i resets even with -E.
    assert.equal(buildEnv(input({ preserveAll: true, mode: 'login' }))['FOO'], undefined);
  });
});
