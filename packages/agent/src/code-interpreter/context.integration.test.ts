// A real kernel (Deno's, which needs nothing but the deno package) started by a real Context: its
// start has no limit of its own, and a caller waits only as long as its request's deadline.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
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

/** Processes whose parent is this test process (a kernel, or the helper that starts it). */
async function childCount(): Promise<number> {
  let count = 0;
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    if (new RegExp(`^PPid:\\s+${process.pid}$`, 'm').test(status)) count += 1;
  }
  return count;
}

describe('lazy context (real Deno kernel)', () => {
  let dir: string;
  let context: Context;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'context-lazy-'));
  });

  after(async () => {
    await context.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('starts no kernel until first used, takes an adopt before that, and its first cell runs after the warm-up', async () => {
    const before = await childCount();
    context = new Context({
      id: 'lazy-test',
      language: 'javascript',
      cwd: dir,
      spec: 'deno',
      user: { name: 'me', home: dir, shell: '/bin/sh' },
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir },
      runtimeDir: dir,
      lazy: true,
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await childCount(), before, 'a lazy context starts nothing by itself');
    await context.adopt({ name: 'me', home: dir, shell: '/bin/sh' }, { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, LAZY_VAR: 'adopted' });
    await context.restart();
    assert.equal(await childCount(), before, 'adopt and restart of an unused lazy context start nothing');
    const out: string[] = [];
    for await (const line of context.execute('console.log(typeof require, Deno.env.get("LAZY_VAR"))', {})) {
      if (line.type === 'stdout') out.push(line.text);
      if (line.type === 'error') assert.fail(`${line.name}: ${line.value}`);
    }
    assert.equal(out.join(''), 'function adopted\n');
  });
});
