import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './config.js';

describe('agent config', () => {
  it('reads the file named by SANDBOXD_AGENT_CONFIG and the settings of the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'agent-config-'));
    try {
      const path = join(dir, 'agent.json');
      await writeFile(path, JSON.stringify({ sandboxId: 'x', accessToken: 'tok', defaultUser: 'root' }));
      const c = await loadConfig({
        SANDBOXD_AGENT_CONFIG: path,
        SANDBOXD_AGENT_HOST: '127.0.0.1',
        SANDBOXD_AGENT_ENVD_PORT: '1234',
        SANDBOXD_AGENT_CODE_PORT: 'off',
        SANDBOXD_AGENT_SUDO_SOCKET: '/tmp/s',
        SANDBOXD_AGENT_MEMORY_GUARD: 'off',
        PATH: '/bin',
      });
      assert.equal(c.agent.accessToken, 'tok');
      assert.equal(c.host, '127.0.0.1');
      assert.equal(c.envdPort, 1234);
      assert.equal(c.codePort, 'off');
      assert.equal(c.sudoSocket, '/tmp/s');
      assert.equal(c.memoryGuard, false);
      assert.equal(c.path, '/bin');
      const d = await loadConfig({ SANDBOXD_AGENT_CONFIG: path });
      assert.equal(d.host, '0.0.0.0');
      assert.equal(d.envdPort, 49983);
      assert.equal(d.codePort, 49999);
      assert.equal(d.memoryGuard, true);
      assert.equal(d.path, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
      await assert.rejects(loadConfig({ SANDBOXD_AGENT_CONFIG: path, SANDBOXD_AGENT_ENVD_PORT: 'abc' }), /SANDBOXD_AGENT_ENVD_PORT must be a port number/);
      await assert.rejects(loadConfig({ SANDBOXD_AGENT_CONFIG: path, SANDBOXD_AGENT_CODE_PORT: '70000' }), /port number/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
