import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSandboxdError } from '@sandboxd/protocol';
import { capTimeout, checkCreateQuota } from './quota.js';

const fails = (code: string, pattern: RegExp) => (e: unknown) => isSandboxdError(e) && e.code === code && pattern.test(e.message);

describe('create quota', () => {
  it('no quota admits anything', () => {
    assert.doesNotThrow(() => checkCreateQuota({}, { timeoutSec: 86_400, memoryMB: 65_536 }, Array.from({ length: 50 }, () => ({ memoryMB: 1024 }))));
  });

  it('a timeout over max-timeout is 400 naming the quota', () => {
    assert.doesNotThrow(() => checkCreateQuota({ maxTimeoutSec: 600 }, { timeoutSec: 600, memoryMB: 512 }, []));
    assert.throws(() => checkCreateQuota({ maxTimeoutSec: 600 }, { timeoutSec: 601, memoryMB: 512 }, []), fails(ErrorCode.BAD_REQUEST, /timeout 601 s exceeds .*max-timeout quota of 600 s/));
  });

  it('reaching max-sandboxes is 429 saying how many run', () => {
    assert.doesNotThrow(() => checkCreateQuota({ maxSandboxes: 2 }, { timeoutSec: 60, memoryMB: 512 }, [{ memoryMB: 512 }]));
    assert.throws(() => checkCreateQuota({ maxSandboxes: 2 }, { timeoutSec: 60, memoryMB: 512 }, [{ memoryMB: 512 }, { memoryMB: 512 }]), fails(ErrorCode.RESOURCE_EXHAUSTED, /max-sandboxes quota: 2 of 2/));
    const status = (() => {
      try {
        checkCreateQuota({ maxSandboxes: 1 }, { timeoutSec: 60, memoryMB: 512 }, [{ memoryMB: 512 }]);
      } catch (e) {
        return isSandboxdError(e) ? e.status : 0;
      }
      return 0;
    })();
    assert.equal(status, 429);
  });

  it('max-memory counts the running sandboxes plus the new one', () => {
    assert.doesNotThrow(() => checkCreateQuota({ maxMemoryMB: 2048 }, { timeoutSec: 60, memoryMB: 1024 }, [{ memoryMB: 1024 }]));
    assert.throws(() => checkCreateQuota({ maxMemoryMB: 2048 }, { timeoutSec: 60, memoryMB: 1024 }, [{ memoryMB: 512 }, { memoryMB: 1024 }]), fails(ErrorCode.RESOURCE_EXHAUSTED, /max-memory quota of 2048 MiB .* 1024 MiB \(1536 MiB in use/));
    assert.throws(() => checkCreateQuota({ maxMemoryMB: 512 }, { timeoutSec: 60, memoryMB: 1024 }, []), fails(ErrorCode.RESOURCE_EXHAUSTED, /max-memory/));
  });

  it('extensions are capped at max-timeout', () => {
    assert.equal(capTimeout({}, 3600), 3600);
    assert.equal(capTimeout({ maxTimeoutSec: 60 }, 3600), 60);
    assert.equal(capTimeout({ maxTimeoutSec: 600 }, 30), 30);
  });
});
