import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import { startAgent, withTimeout } from '../test/agent-fixture.js';

describe('agent shutdown', () => {
  it('ends in-flight streams with unavailable, stops children and exits 0 on SIGTERM', async () => {
    const fx = await startAgent();
    try {
      const stream = fx.process.start({ process: { cmd: '/bin/sleep', args: ['30'], envs: {} }, stdin: false });
      const iter = stream[Symbol.asyncIterator]();
      const first = await iter.next();
      const pid = first.value?.event?.event.case === 'start' ? first.value.event.event.value.pid : 0;
      assert.ok(pid > 0);
      const rest = (async () => {
        try {
          for (;;) if ((await iter.next()).done) return undefined;
        } catch (err) {
          return ConnectError.from(err);
        }
      })();
      const exited = new Promise<number | null>((resolve) => fx.child.once('exit', (code) => resolve(code)));
      fx.child.kill('SIGTERM');
      const err = await withTimeout(rest, 5_000, 'stream end');
      assert.equal(err?.code, Code.Unavailable);
      assert.equal(await withTimeout(exited, 5_000, 'agent exit'), 0);
      assert.throws(() => process.kill(pid, 0), 'child process is gone');
    } finally {
      await fx.stop();
    }
  });
});
