import { strict as assert } from 'node:assert';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { commitImage, discardImages, hasImage, imagePaths, preparePartialImage, summariseCheckpointError } from './pause-image.js';

describe('pause image', () => {
  it('only a committed image counts; commit replaces the old one; discard removes both', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pause-image-'));
    try {
      const partial = await preparePartialImage(dir);
      await writeFile(join(partial, 'checkpoint.img'), 'one');
      assert.equal(await hasImage(dir), false, 'a partial image is not an image');
      await commitImage(dir);
      assert.equal(await hasImage(dir), true);
      const again = await preparePartialImage(dir);
      assert.deepEqual(await readdir(again), [], 'a new partial image starts empty');
      await writeFile(join(again, 'checkpoint.img'), 'two');
      await commitImage(dir);
      assert.deepEqual(await readdir(imagePaths(dir).image), ['checkpoint.img']);
      await preparePartialImage(dir);
      await discardImages(dir);
      assert.deepEqual(await readdir(dir), []);
      assert.equal(await hasImage(dir), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('summarises runsc refusals to one line', () => {
    const dump = 'runsc checkpoint failed (exit code 128): checkpoint failed: encoding error: save rejected due to unsupported networking state: endpoint cannot be saved in connected state\ngoroutine 233 [running]:\n\tgvisor.dev/...';
    assert.match(summariseCheckpointError(dump), /^checkpoint failed: encoding error: .*connected state$/);
    assert.equal(summariseCheckpointError('x'.repeat(1000)).length, 401);
  });
});
