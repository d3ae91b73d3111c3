// A real kernel (Deno's, which needs nothing but the deno package) started by a real Context: its
// start has no limit of its own, and a caller waits only as long as its request's deadline.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { Context } from './context.js';

describe('context kernel start (real Deno kernel)', () => {
  let dir: string;
  let context: Context;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'context-start-'));
    context = new Context({
      id: 'start-test',
      language: 'javascript',
      cwd: dir,
      spec: 'deno',
      user: { name: 'me', home: dir, shell: '/bin/sh' },
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir },
      runtimeDir: dir,
    });
  });

  after(async () => {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("fails a waiter whose deadline passes first with TIMEOUT naming the request's limit, and the start goes on", async () => {
    const error = await context.ready({ signal: AbortSignal.timeout(1) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof SandboxdError, String(error));
    assert.equal(error.code, ErrorCode.TIMEOUT);
    assert.match(error.message, /still starting when the request's deadline passed/);
    assert.match(error.message, /runCode's timeoutMs/);
    // The same start, not a new one, answers a caller without a deadline.
    await context.ready();
  });
});
