import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Adopt, ENVD_PORT, ErrorCode, TemplateReady, isSandboxdError } from '@sandboxd/protocol';
import type { TemplateReadyState } from '@sandboxd/protocol';
import { waitTemplateReady } from './template-ready-client.js';

// The client against an in-process stand-in of the agent's route (the real route: agent
// template-ready.integration.test.ts). A loopback address of its own, on envd's fixed port.
const ADDRESS = `127.113.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
const SECRET = 'secret-of-the-daemon';

describe('waitTemplateReady', () => {
  let server: Server;
  let answers: TemplateReadyState[] = [];
  const asked: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      asked.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      const next = answers.length > 1 ? answers.shift() : answers[0];
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(next));
    });
    await new Promise<void>((resolve) => server.listen(ENVD_PORT, ADDRESS, resolve));
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('asks with the daemon secret until the agent says ready', async () => {
    answers = [{ state: 'starting' }, { state: 'starting' }, { state: 'ready' }];
    asked.length = 0;
    await waitTemplateReady(ADDRESS, SECRET, { timeoutMs: 10_000 });
    assert.equal(asked.length, 3);
    assert.equal(asked[0], `GET ${TemplateReady.path}?waitMs=${TemplateReady.maxWaitMs} ${Adopt.authorization(SECRET)}`);
  });

  it('fails with TEMPLATE_NOT_READY and the agent message when the start command failed', async () => {
    answers = [{ state: 'failed', message: "start command 'x' failed (exit status 2)" }];
    await assert.rejects(
      waitTemplateReady(ADDRESS, SECRET),
      (e: unknown) => isSandboxdError(e) && e.code === ErrorCode.TEMPLATE_NOT_READY && /exit status 2/.test(e.message),
    );
  });

  it('stops at the deadline with TIMEOUT while the agent still says starting', async () => {
    answers = [{ state: 'starting' }];
    await assert.rejects(waitTemplateReady(ADDRESS, SECRET, { timeoutMs: 300 }), (e: unknown) => isSandboxdError(e) && e.code === ErrorCode.TIMEOUT);
  });
});
