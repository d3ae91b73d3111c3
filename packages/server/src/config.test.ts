import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isSandboxdError } from '@sandboxd/protocol';
import { loadConfig } from './config.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.home, '/var/lib/sandboxd');
    assert.equal(config.apiKey, undefined);
    assert.equal(config.domain, 'sandboxd.local');
    assert.equal(config.defaultTimeoutSec, 300);
    assert.equal(config.maxTimeoutSec, 86400);
    assert.equal(config.pauseToDisk, true);
  });

  it('has the pause disk tier on by default, off with SANDBOXD_PAUSE_TO_DISK=0 or false, and refuses other values', () => {
    assert.equal(loadConfig({}).pauseToDisk, true);
    assert.equal(loadConfig({ SANDBOXD_PAUSE_TO_DISK: 'false' }).pauseToDisk, false);
    assert.equal(loadConfig({ SANDBOXD_PAUSE_TO_DISK: '1' }).pauseToDisk, true);
    assert.equal(loadConfig({ SANDBOXD_PAUSE_TO_DISK: 'true' }).pauseToDisk, true);
    assert.equal(loadConfig({ SANDBOXD_PAUSE_TO_DISK: '0' }).pauseToDisk, false);
    assert.throws(() => loadConfig({ SANDBOXD_PAUSE_TO_DISK: 'yes' }), /SANDBOXD_PAUSE_TO_DISK/);
  });

  it('reads SANDBOXD_* variables and lets flags override them', () => {
    const key = `e2b_${'a'.repeat(40)}`;
    const config = loadConfig(
      { SANDBOXD_PORT: '3100', SANDBOXD_HOME: '/tmp/sbx', SANDBOXD_API_KEY: key, SANDBOXD_DOMAIN: 'box.test', SANDBOXD_HOST: '0.0.0.0' },
      { port: 3200 },
    );
    assert.equal(config.port, 3200);
    assert.equal(config.home, '/tmp/sbx');
    assert.equal(config.apiKey, key);
    assert.equal(config.domain, 'box.test');
    assert.equal(config.host, '0.0.0.0');
  });

  it('names every invalid variable in one error and never echoes the API key', () => {
    assert.throws(
      () => loadConfig({ SANDBOXD_PORT: 'x', SANDBOXD_HOME: 'relative', SANDBOXD_API_KEY: 'secret-value', SANDBOXD_DOMAIN: 'Bad_Domain' }),
      (error: unknown) => {
        assert.ok(isSandboxdError(error));
        assert.equal(error.code, 'BAD_REQUEST');
        for (const name of ['SANDBOXD_PORT', 'SANDBOXD_HOME', 'SANDBOXD_API_KEY', 'SANDBOXD_DOMAIN']) {
          assert.match(error.message, new RegExp(name));
        }
        assert.doesNotMatch(error.message, /secret-value/);
        return true;
      },
    );
  });

  it('rejects a default timeout above the maximum', () => {
    assert.throws(() => loadConfig({ SANDBOXD_DEFAULT_TIMEOUT: '600', SANDBOXD_MAX_TIMEOUT: '60' }), /SANDBOXD_DEFAULT_TIMEOUT/);
  });

  it('has no metrics listener by default; SANDBOXD_METRICS_PORT/HOST configure one, a host alone is an error', () => {
    const plain = loadConfig({});
    assert.equal(plain.metricsPort, undefined);
    assert.equal(plain.metricsHost, undefined);
    const open = loadConfig({ SANDBOXD_METRICS_PORT: '9464', SANDBOXD_METRICS_HOST: '0.0.0.0' });
    assert.equal(open.metricsPort, 9464);
    assert.equal(open.metricsHost, '0.0.0.0');
    assert.throws(() => loadConfig({ SANDBOXD_METRICS_HOST: '0.0.0.0' }), /SANDBOXD_METRICS_HOST/);
    assert.throws(() => loadConfig({ SANDBOXD_METRICS_PORT: '70000' }), /SANDBOXD_METRICS_PORT/);
  });
});
