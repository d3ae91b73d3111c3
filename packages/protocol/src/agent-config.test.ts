import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAgentConfig } from './agent-config.js';

describe('AgentConfigSchema', () => {
  it('parses a full config, fills defaults and normalises an empty token to null', () => {
    const c = parseAgentConfig({ sandboxId: 's', templateId: 't', accessToken: '', envVars: { A: '1' }, defaultUser: 'user' });
    assert.deepEqual(c, { sandboxId: 's', templateId: 't', accessToken: null, envVars: { A: '1' }, defaultUser: 'user', bootKernels: true });
    assert.deepEqual(parseAgentConfig({}), { sandboxId: '', templateId: '', accessToken: null, envVars: {}, defaultUser: 'user', bootKernels: true });
    assert.equal(parseAgentConfig({ bootKernels: false }).bootKernels, false);
    assert.equal(parseAgentConfig({ loopbackSecret: 'abc' }).loopbackSecret, 'abc');
    assert.equal('loopbackSecret' in parseAgentConfig({ loopbackSecret: '' }), false);
    assert.equal(parseAgentConfig({ pidsLimit: 64 }).pidsLimit, 64);
    assert.equal('pidsLimit' in parseAgentConfig({ pidsLimit: null }), false);
    assert.deepEqual(parseAgentConfig({ defaultWorkdir: '/app', startCmd: 'run' }).defaultWorkdir, '/app');
    assert.equal(parseAgentConfig({ startCmd: 'run' }).startCmd, 'run');
    assert.equal('defaultWorkdir' in parseAgentConfig({ defaultWorkdir: '' }), false);
  });

  it('rejects malformed values, naming the source and the field', () => {
    assert.throws(() => parseAgentConfig(null, '/x.json'), /^Error: \/x\.json: \(root\)/);
    assert.throws(() => parseAgentConfig({ accessToken: 5 }), /accessToken/);
    assert.throws(() => parseAgentConfig({ envVars: { A: 1 } }), /envVars\.A/);
    assert.throws(() => parseAgentConfig({ loopbackSecret: 7 }), /loopbackSecret/);
    assert.throws(() => parseAgentConfig({ pidsLimit: 0 }), /pidsLimit/);
  });

  it('round-trips what a writer produces: parse, JSON, parse again', () => {
    const written = parseAgentConfig({ sandboxId: 's', accessToken: 'k', envVars: { B: '2' }, pidsLimit: 10, loopbackSecret: 'z' });
    assert.deepEqual(parseAgentConfig(JSON.parse(JSON.stringify(written))), parseAgentConfig(written));
  });
});
