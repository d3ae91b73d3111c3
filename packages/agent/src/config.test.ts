import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, parseAgentConfig } from './config.js';

describe('agent config', () => {
  it('parses a full config and normalises an empty token to null', () => {
    const c = parseAgentConfig({ sandboxId: 's', templateId: 't', accessToken: '', envVars: { A: '1' }, defaultUser: 'user' });
    assert.deepEqual(c, { sandboxId: 's', templateId: 't', accessToken: null, envVars: { A: '1' }, defaultUser: 'user', bootKernels: true });
    assert.equal(parseAgentConfig({ bootKernels: false }).bootKernels, false);
    assert.equal(parseAgentConfig({ loopbackSecret: 'abc' }).loopbackSecret, 'abc');
    assert.equal('loopbackSecret' in parseAgentConfig({ loopbackSecret: '' }), false);
  });

  it('rejects malformed values', () => {
    assert.throws(() => parseAgentConfig(null), /JSON object/);
    assert.throws(() => parseAgentConfig({ accessToken: 5 }), /accessToken/);
    assert.throws(() => parseAgentConfig({ envVars: { A: 1 } }), /envVars.A/);
    assert.throws(() => parseAgentConfig({ loopbackSecret: 7 }), /loopbackSecret/);
  });

  it('reads the file named by SANDBOXD_AGENT_CONFIG and the listen overrides', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-config-'));
    try {
      const path = join(dir, 'agent.json');
      await writeFile(path, JSON.stringify({ sandboxId: 'x', accessToken: 'tok', defaultUser: 'root' }));
      const c = await loadConfig({ SANDBOXD_AGENT_CONFIG: path, SANDBOXD_AGENT_HOST: '127.0.0.1', SANDBOXD_AGENT_ENVD_PORT: '1234' });
      assert.equal(c.agent.accessToken, 'tok');
      assert.equal(c.host, '127.0.0.1');
      assert.equal(c.envdPort, 1234);
      const d = await loadConfig({ SANDBOXD_AGENT_CONFIG: path });
      assert.equal(d.host, '0.0.0.0');
      assert.equal(d.envdPort, 49983);
      await assert.rejects(loadConfig({ SANDBOXD_AGENT_CONFIG: path, SANDBOXD_AGENT_ENVD_PORT: 'abc' }), /port/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
