import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../config.js';
import { mcpConnection } from './mcp.js';

const home = mkdtempSync(join(tmpdir(), 'sandboxd-mcp-cli-'));
after(() => rmSync(home, { recursive: true, force: true }));
const KEY = `e2b_${'1'.repeat(40)}`;

describe('sandboxd mcp connection', () => {
  it('takes E2B_API_URL, E2B_API_KEY and E2B_SANDBOX_URL when set', () => {
    const config = loadConfig({ SANDBOXD_HOME: home });
    assert.deepEqual(mcpConnection(config, { E2B_API_URL: 'http://10.0.0.1:9', E2B_API_KEY: 'k', E2B_SANDBOX_URL: 'http://10.0.0.1:8' }), {
      apiUrl: 'http://10.0.0.1:9',
      apiKey: 'k',
      sandboxUrl: 'http://10.0.0.1:8',
    });
  });

  it("falls back to the CLI's config: listen address (a wildcard becomes loopback), SANDBOXD_API_KEY, then the key file", () => {
    assert.deepEqual(mcpConnection(loadConfig({ SANDBOXD_HOME: home, SANDBOXD_PORT: '3100', SANDBOXD_API_KEY: KEY }), {}), { apiUrl: 'http://127.0.0.1:3100', apiKey: KEY });
    assert.throws(() => mcpConnection(loadConfig({ SANDBOXD_HOME: home, SANDBOXD_HOST: '0.0.0.0' }), {}), /E2B_API_KEY/);
    writeFileSync(join(home, 'api-key'), `${KEY}\n`);
    assert.deepEqual(mcpConnection(loadConfig({ SANDBOXD_HOME: home, SANDBOXD_HOST: '0.0.0.0' }), {}), { apiUrl: 'http://127.0.0.1:3000', apiKey: KEY });
    assert.equal(mcpConnection(loadConfig({ SANDBOXD_HOME: home, SANDBOXD_HOST: '::1' }), {}).apiUrl, 'http://[::1]:3000');
  });
});
