import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Adopt, TemplateReady } from '@sandboxd/protocol';
import type { TemplateReadyState } from '@sandboxd/protocol';
import { startAgent } from '../test/agent-fixture.js';
import type { AgentFixture } from '../test/agent-fixture.js';

const SECRET = 'daemon-secret-0123456789abcdef';

async function ready(
  fx: AgentFixture,
  waitMs: number,
  headers: Record<string, string> = { authorization: Adopt.authorization(SECRET) },
): Promise<{ status: number; body: TemplateReadyState }> {
  const res = await fetch(`${fx.url}${TemplateReady.path}?waitMs=${waitMs}`, { headers });
  return { status: res.status, body: (await res.json()) as TemplateReadyState };
}

/** Asks until the state leaves `starting` (each ask is held up to 5 s by the agent). */
async function settled(fx: AgentFixture): Promise<TemplateReadyState> {
  for (;;) {
    const { body } = await ready(fx, 5_000);
    if (body.state !== 'starting') return body;
  }
}

describe('GET /template-ready (real agent: start and ready commands)', () => {
  let dir: string;
  const agents: AgentFixture[] = [];
  const agent = async (overrides: Parameters<typeof startAgent>[0]) => {
    const fx = await startAgent({ loopbackSecret: SECRET, ...overrides });
    agents.push(fx);
    return fx;
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'template-ready-'));
  });
  after(async () => {
    await Promise.all(agents.map((fx) => fx.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('is for the daemon only: 401 without the secret, 403 with a wrong one', async () => {
    const fx = await agent({});
    assert.equal((await ready(fx, 0, {})).status, 401);
    assert.equal((await ready(fx, 0, { authorization: Adopt.authorization('wrong') })).status, 403);
    assert.deepEqual((await ready(fx, 0)).body, { state: 'ready' });
  });

  it('is ready only once the ready command passes, which waits on what the start command does', async () => {
    const flag = join(dir, 'up');
    // The start command makes the flag after a while; the ready command checks it.
    const fx = await agent({ startCmd: `sleep 1; touch ${flag}; sleep 600`, readyCmd: `[ -f ${flag} ]` });
    const early = await ready(fx, 0);
    assert.deepEqual(early.body, { state: 'starting' });
    assert.deepEqual(await settled(fx), { state: 'ready' });
    // Still ready after that; the start command keeps running.
    assert.deepEqual((await ready(fx, 0)).body, { state: 'ready' });
  });

  it('fails with the output of a start command that exits with an error before it is ready', async () => {
    const fx = await agent({ startCmd: 'echo cannot bind port 8080 >&2; exit 3', readyCmd: 'false' });
    const state = await settled(fx);
    assert.equal(state.state, 'failed');
    assert.match(state.state === 'failed' ? state.message : '', /exit status 3[\s\S]*cannot bind port 8080/);
  });

  it('keeps waiting on the ready command when the start command exits 0 first', async () => {
    const flag = join(dir, 'later');
    const fx = await agent({ startCmd: `(sleep 1; touch ${flag}) & exit 0`, readyCmd: `[ -f ${flag} ]` });
    assert.deepEqual(await settled(fx), { state: 'ready' });
  });

  it('is ready at once with a start command and no ready command', async () => {
    const fx = await agent({ startCmd: 'sleep 600' });
    assert.deepEqual(await settled(fx), { state: 'ready' });
  });
});
