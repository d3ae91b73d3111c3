import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config.js';
import { DEFAULT_POOL_MEMORY_MB, parsePoolSizes } from './pool-config.js';

describe('pool configuration', () => {
  it('parses template=count lists; off, 0 and zero counts mean no pool', () => {
    assert.deepEqual([...parsePoolSizes('code-interpreter-v1=2, base=1')], [['code-interpreter-v1', 2], ['base', 1]]);
    assert.deepEqual([...parsePoolSizes('off')], []);
    assert.deepEqual([...parsePoolSizes('0')], []);
    assert.deepEqual([...parsePoolSizes('base=0,code-interpreter-v1=1')], [['code-interpreter-v1', 1]]);
  });

  it('rejects malformed entries and duplicates, naming them', () => {
    assert.throws(() => parsePoolSizes('base'), /"base" must be <template>=<count>/);
    assert.throws(() => parsePoolSizes('base=-1'), /must be <template>=<count>/);
    assert.throws(() => parsePoolSizes('base=1,base=2'), /twice/);
  });

  it('is read from SANDBOXD_POOL_SIZE and SANDBOXD_POOL_MEMORY_MB, with defaults', () => {
    const defaults = loadConfig({ SANDBOXD_HOME: '/tmp/x' });
    assert.deepEqual([...defaults.poolSizes], [['code-interpreter-v1', 2], ['base', 1]]);
    assert.equal(defaults.poolMemoryMB, DEFAULT_POOL_MEMORY_MB);
    const set = loadConfig({ SANDBOXD_HOME: '/tmp/x', SANDBOXD_POOL_SIZE: 'base=3', SANDBOXD_POOL_MEMORY_MB: '300' });
    assert.deepEqual([...set.poolSizes], [['base', 3]]);
    assert.equal(set.poolMemoryMB, 300);
    assert.throws(() => loadConfig({ SANDBOXD_HOME: '/tmp/x', SANDBOXD_POOL_SIZE: 'base=x' }), /SANDBOXD_POOL_SIZE \(base=x\)/);
  });
});
