import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import { Adopt, parseAgentConfig } from '@sandboxd/protocol';
import type { AdoptRequest } from '@sandboxd/protocol';
import { silentLogger } from '../../logger.js';
import { createAdopter } from './adopter.js';
import { createAdoptHandler } from './route.js';

const FIRST = 'first-daemon-secret-0123456789';
const SECOND = 'second-daemon-secret-987654321';

const config = () =>
  parseAgentConfig({ sandboxId: 'imaged', templateId: 't', accessToken: null, envVars: { A: '1' }, defaultUser: 'user', loopbackSecret: FIRST });

const request = (generation: number, overrides: Partial<AdoptRequest> = {}): AdoptRequest => ({
  generation,
  sandboxId: 'restored',
  templateId: 't',
  accessToken: null,
  envVars: { B: '2' },
  defaultUser: 'user',
  ...overrides,
});

describe('adopt of a restored agent: its own daemon secret and hostname', () => {
  it('sets the hostname before anything else and replaces the daemon secret', async () => {
    const cfg = config();
    const names: string[] = [];
    const adopter = createAdopter({ config: cfg, hooks: [], logger: silentLogger, setHostname: async (name) => void names.push(name) });
    await adopter.adopt(request(5, { hostname: 'restored', loopbackSecret: SECOND }));
    assert.deepEqual(names, ['restored']);
    assert.equal(cfg.loopbackSecret, SECOND);
    assert.equal(cfg.sandboxId, 'restored');
    assert.deepEqual(cfg.envVars, { B: '2' });
  });

  it('a hostname that cannot be set leaves the old identity whole; without a setter such an adopt is refused', async () => {
    const cfg = config();
    const failing = createAdopter({ config: cfg, hooks: [], logger: silentLogger, setHostname: () => Promise.reject(new Error('EPERM')) });
    await assert.rejects(failing.adopt(request(5, { hostname: 'restored', loopbackSecret: SECOND })), /EPERM/);
    assert.equal(cfg.sandboxId, 'imaged');
    assert.equal(cfg.loopbackSecret, FIRST);
    assert.equal(failing.generation, 0);
    const none = createAdopter({ config: config(), hooks: [], logger: silentLogger });
    await assert.rejects(none.adopt(request(5, { hostname: 'restored' })), /cannot set the hostname/);
  });

  it('the route takes the new secret from then on, and no longer the old one', async () => {
    const cfg = config();
    const adopter = createAdopter({ config: cfg, hooks: [], logger: silentLogger, setHostname: async () => undefined });
    const handler = createAdoptHandler({ secret: () => cfg.loopbackSecret, adopter, logger: silentLogger });
    const app = new Hono();
    app.onError((err, c) => c.json({ message: err.message }, 403));
    app.post(Adopt.path, handler);
    const post = (secret: string, body: AdoptRequest) =>
      app.request(Adopt.path, { method: 'POST', headers: { authorization: Adopt.authorization(secret), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post(FIRST, request(5, { loopbackSecret: SECOND }))).status, 200);
    assert.equal((await post(FIRST, request(6))).status, 403, 'the old secret is refused');
    assert.equal((await post(SECOND, request(6))).status, 200);
  });
});
