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

describe('adopt of a restored agent: its own daemon secret', () => {
  it('replaces the daemon secret; hooks hear of a restored agent (an adopt naming its hostname)', async () => {
    const cfg = config();
    const heard: boolean[] = [];
    const adopter = createAdopter({ config: cfg, hooks: [async (_identity, how) => void heard.push(how.restored)], logger: silentLogger });
    await adopter.adopt(request(5, { hostname: 'restored', loopbackSecret: SECOND }));
    assert.equal(cfg.loopbackSecret, SECOND);
    assert.equal(cfg.sandboxId, 'restored');
    assert.deepEqual(cfg.envVars, { B: '2' });
    await adopter.adopt(request(6, { sandboxId: 'claimed' }));
    assert.equal(cfg.loopbackSecret, SECOND, 'no secret named: unchanged');
    assert.deepEqual(heard, [true, false]);
  });

  it('the route takes the new secret from then on, and no longer the old one', async () => {
    const cfg = config();
    const adopter = createAdopter({ config: cfg, hooks: [], logger: silentLogger });
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
