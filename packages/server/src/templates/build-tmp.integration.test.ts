import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captureTmp, tmpSignature } from './build-tmp.js';

// Real cp, setfattr and overlayfs (root): a layer's opaque tmp/ over a base that has more.
describe('a build step layer carries /tmp', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'build-tmp-'));
  });
  after(async () => {
    execFileSync('umount', ['-l', join(dir, 'merged')], { stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  });

  it('tells a changed /tmp from an unchanged one, the COPY staging aside', async () => {
    const tmp = join(dir, 'sig');
    await mkdir(tmp);
    await writeFile(join(tmp, 'a'), 'a');
    const before = await tmpSignature(tmp);
    assert.equal(await tmpSignature(tmp), before);
    await writeFile(join(tmp, '.sandboxd-copy.tar'), 'staged');
    await mkdir(join(tmp, '.sandboxd-copy'));
    assert.equal(await tmpSignature(tmp), before);
    await writeFile(join(tmp, 'b'), 'b');
    assert.notEqual(await tmpSignature(tmp), before);
  });

  it('captures it as an opaque directory: over a base /tmp, what the step removed stays removed', async () => {
    const base = join(dir, 'base');
    await mkdir(join(base, 'tmp'), { recursive: true });
    await writeFile(join(base, 'tmp', 'removed-later'), 'x');
    await writeFile(join(base, 'tmp', 'kept'), 'old');
    // The build sandbox's /tmp after the step: `removed-later` gone, `kept` changed, `new` made.
    const sandboxTmp = join(dir, 'sandbox-tmp');
    await mkdir(sandboxTmp);
    await writeFile(join(sandboxTmp, 'kept'), 'new content');
    await mkdir(join(sandboxTmp, 'new'));
    await writeFile(join(sandboxTmp, 'new', 'f'), 'f');
    await writeFile(join(sandboxTmp, '.sandboxd-copy.tar'), 'staged');
    const layer = join(dir, 'layer');
    await mkdir(layer);
    await captureTmp(sandboxTmp, layer);
    const merged = join(dir, 'merged');
    await mkdir(merged);
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${layer}:${base}`, merged]);
    assert.deepEqual((await readdir(join(merged, 'tmp'))).sort(), ['kept', 'new']);
    assert.equal(execFileSync('cat', [join(merged, 'tmp', 'kept'), join(merged, 'tmp', 'new', 'f')], { encoding: 'utf8' }), 'new contentf');
  });
});
