import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { planStep } from './step-commands.js';

// The COPY script run by a real shell (sh, tar), its staging paths moved out of /tmp.

describe('COPY step script', () => {
  it('COPY of a wildcard source puts every match into dest as a directory (Docker), links included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'copy-step-'));
    try {
      mkdirSync(join(dir, 'ctx', 'folder'), { recursive: true });
      writeFileSync(join(dir, 'ctx', 'folder', 'test.txt'), 'hi\n');
      symlinkSync('test.txt', join(dir, 'ctx', 'folder', 'link.txt'));
      execFileSync('tar', ['-cf', join(dir, 'stage.tar'), '-C', join(dir, 'ctx'), 'folder']);
      const user = userInfo().username;
      const plan = planStep({ type: 'COPY', args: ['folder/*', 'folder'], filesHash: 'h' }, { user, workdir: join(dir, 'home'), env: {} });
      // The script's staging paths (inside a build sandbox) moved into the temporary directory.
      execFileSync('sh', ['-c', (plan.script ?? '').replaceAll('/tmp/.sandboxd-copy', join(dir, 'stage'))]);
      assert.equal(readFileSync(join(dir, 'home', 'folder', 'test.txt'), 'utf8'), 'hi\n');
      assert.equal(readlinkSync(join(dir, 'home', 'folder', 'link.txt')), 'test.txt');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});
