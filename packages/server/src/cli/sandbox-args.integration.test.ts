import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { isSandboxdError } from '@sandboxd/protocol';
import { collect, commandLine, parseCpArgs, parseCpLocation, parseKeyValues, parseSecondsMs, shellQuote } from './sandbox-args.js';

const badRequest = (pattern: RegExp) => (error: unknown) => isSandboxdError(error) && error.code === 'BAD_REQUEST' && pattern.test(error.message);

describe('sandbox CLI arguments', () => {
  it('collects a repeated option in order', () => {
    assert.deepEqual(collect('B=2', collect('A=1')), ['A=1', 'B=2']);
  });

  it('parses KEY=VALUE pairs: the value may hold = or be empty, a later key wins', () => {
    assert.deepEqual(parseKeyValues(['A=1', 'URL=http://x/?a=b', 'EMPTY=', 'A=2'], '--env'), { A: '2', URL: 'http://x/?a=b', EMPTY: '' });
    assert.deepEqual(parseKeyValues(undefined, '--env'), {});
  });

  it('rejects a pair without a key or without =, naming the option', () => {
    assert.throws(() => parseKeyValues(['FOO'], '--env'), badRequest(/--env takes KEY=VALUE, got "FOO"/));
    assert.throws(() => parseKeyValues(['=v'], '--metadata'), badRequest(/--metadata/));
  });

  it('takes positive whole seconds and gives milliseconds', () => {
    assert.equal(parseSecondsMs(undefined, '--timeout'), undefined);
    assert.equal(parseSecondsMs('90', '--timeout'), 90_000);
    for (const bad of ['0', '-1', '1.5', 'ten', '']) assert.throws(() => parseSecondsMs(bad, '--timeout'), badRequest(/--timeout takes a positive whole number/), bad);
  });

  it('reads <id>:<path> as a sandbox path and anything else as local', () => {
    assert.deepEqual(parseCpLocation('i123abc:/tmp/a b'), { kind: 'sandbox', sandboxId: 'i123abc', path: '/tmp/a b' });
    assert.deepEqual(parseCpLocation('i123:rel/file'), { kind: 'sandbox', sandboxId: 'i123', path: 'rel/file' });
    assert.deepEqual(parseCpLocation('i123:/a:b'), { kind: 'sandbox', sandboxId: 'i123', path: '/a:b' });
    assert.deepEqual(parseCpLocation('/tmp/a:b'), { kind: 'local', path: '/tmp/a:b' });
    assert.deepEqual(parseCpLocation('./a:b'), { kind: 'local', path: './a:b' });
    assert.deepEqual(parseCpLocation('file.txt'), { kind: 'local', path: 'file.txt' });
    assert.throws(() => parseCpLocation('i123:'), badRequest(/names no path inside sandbox i123/));
    assert.throws(() => parseCpLocation(''), badRequest(/empty/));
  });

  it('plans an upload or a download, and refuses two local or two sandbox sides', () => {
    assert.deepEqual(parseCpArgs('./big', 'ix:/tmp/'), { direction: 'upload', local: './big', sandboxId: 'ix', remote: '/tmp/' });
    assert.deepEqual(parseCpArgs('ix:/tmp/big', '.'), { direction: 'download', sandboxId: 'ix', remote: '/tmp/big', local: '.' });
    assert.throws(() => parseCpArgs('a', 'b'), badRequest(/one side in a sandbox/));
    assert.throws(() => parseCpArgs('ix:/a', 'iy:/b'), badRequest(/only one side/));
  });

  it('quotes only what a POSIX shell would split or expand', () => {
    assert.equal(shellQuote('/usr/bin/python3'), '/usr/bin/python3');
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote(''), "''");
  });

  it('runs one argument as a shell line and several as an argv, which a real shell gets back intact', () => {
    assert.equal(commandLine(['echo $HOME | wc -c']), 'echo $HOME | wc -c');
    const argv = ['printf', '%s|', 'a b', "it's", '$HOME', '*', ''];
    const line = commandLine(argv);
    const r = spawnSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    assert.equal(r.stdout, "a b|it's|$HOME|*||");
    assert.throws(() => commandLine([]), badRequest(/exec needs a command/));
  });
});
