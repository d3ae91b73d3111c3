import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadline, linkSignals, throwIfAborted } from './abort.js';
import { ErrorCode, SandboxdError } from './errors.js';

describe('deadlines and linked signals', () => {
  it('links signals, keeping the first reason', () => {
    const a = new AbortController();
    const b = new AbortController();
    assert.equal(linkSignals(undefined, a.signal), a.signal);
    assert.equal(linkSignals(), undefined);
    const linked = linkSignals(a.signal, b.signal);
    b.abort(new SandboxdError(ErrorCode.CANCELED, 'b'));
    a.abort(new SandboxdError(ErrorCode.CANCELED, 'a'));
    assert.equal((linked?.reason as SandboxdError).message, 'b');
  });

  it('turns timeoutMs into one signal that aborts with TIMEOUT naming the operation', async () => {
    const { signal, dispose } = deadline({ timeoutMs: 20 }, 'creating sandbox x');
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(signal?.aborted, true);
    assert.throws(() => throwIfAborted(signal), (e: unknown) => e instanceof SandboxdError && e.code === ErrorCode.TIMEOUT && e.message === 'creating sandbox x did not finish within 20 ms');
    dispose();
  });

  it('keeps the caller\'s abort reason, and no timer without timeoutMs', () => {
    const caller = new AbortController();
    const { signal, dispose } = deadline({ signal: caller.signal, timeoutMs: 10_000 }, 'x');
    caller.abort(new SandboxdError(ErrorCode.CANCELED, 'client went away'));
    assert.equal(SandboxdError.from(signal?.reason).code, ErrorCode.CANCELED);
    dispose();
    assert.equal(deadline({ signal: caller.signal }, 'x').signal, caller.signal);
  });
});
