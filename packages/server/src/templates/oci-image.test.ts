import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackRegistry, parseImageConfig } from './oci-image.js';

describe('parseImageConfig', () => {
  it('reads env, working directory, user, entrypoint and cmd', () => {
    const config = parseImageConfig(JSON.stringify({ config: { Env: ['PATH=/usr/bin:/bin', 'X=a=b'], WorkingDir: '/srv', User: 'app', Entrypoint: ['/bin/sh'], Cmd: ['-c', 'run'] } }));
    assert.deepEqual(config, { env: { PATH: '/usr/bin:/bin', X: 'a=b' }, workdir: '/srv', user: 'app', entrypoint: ['/bin/sh'], cmd: ['-c', 'run'] });
  });

  it('takes an image without a config section', () => {
    assert.deepEqual(parseImageConfig('{}'), { env: {}, entrypoint: [], cmd: [] });
  });
});

describe('isLoopbackRegistry', () => {
  it('is true only for registries on loopback', () => {
    assert.equal(isLoopbackRegistry('127.0.0.1:5000/x/y:1'), true);
    assert.equal(isLoopbackRegistry('localhost:5000/y'), true);
    assert.equal(isLoopbackRegistry('python:3'), false);
    assert.equal(isLoopbackRegistry('docker.io/library/python:3'), false);
    assert.equal(isLoopbackRegistry('localhost.example.com/y'), false);
  });
});
