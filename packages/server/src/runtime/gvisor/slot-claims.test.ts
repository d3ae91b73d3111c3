import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSlotClaims } from './slot-claims.js';

describe('slot claims', () => {
  it('gives two daemons distinct slots and lets each clean only its own or unowned slots', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slots-'));
    try {
      const a = createSlotClaims('/home-a', dir);
      const b = createSlotClaims('/home-b', dir);
      const a0 = a.claim();
      const b0 = b.claim();
      const a1 = a.claim();
      assert.deepEqual([a0, b0, a1], [0, 1, 2]);
      assert.equal(a.mayClean(b0), false);
      assert.equal(a.mayClean(a1), true);
      assert.equal(a.mayClean(99), true);
      assert.deepEqual(a.owned().sort(), [0, 2]);
      b.release(a0);
      assert.equal(a.ownerOf(a0), '/home-a', 'releasing another daemon\'s slot does nothing');
      a.release(a0);
      assert.equal(b.claim(), 0, 'a released slot is reused');
      assert.throws(() => a.adopt(b0), /belongs to the daemon at \/home-b/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
