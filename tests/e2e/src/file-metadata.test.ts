import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, run } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: Sandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createSandbox(stack, { metadata: { suite: 'file-metadata', run: RUN_ID } });
});
after(async () => {
  if (sbx) console.error(`[e2e] file-metadata sandbox: ${sbx.sandboxId}`);
  await sbx?.kill().catch(() => undefined);
  await stack?.stop();
});

// gVisor's root refuses user xattrs; the agent keeps the metadata by file (E2B's files/metadata tests).
describe('file metadata (E2B files.write metadata option)', () => {
  test('multipart and octet-stream writes keep metadata; getInfo, list and rename show it', 180_000, async () => {
    const meta = { author: 'mish', purpose: 'upload' };
    const info = await withTimeout(sbx.files.write('md/a.txt', 'a', { metadata: meta }), CALL_MS, 'write');
    assert.ok(!Array.isArray(info));
    assert.deepEqual(info.metadata, meta);
    assert.deepEqual((await withTimeout(sbx.files.getInfo('md/a.txt'), CALL_MS, 'getInfo')).metadata, meta);
    const octet = await withTimeout(sbx.files.write('md/b.txt', 'b', { metadata: meta, useOctetStream: true }), CALL_MS, 'write');
    assert.deepEqual(octet.metadata, meta);
    assert.deepEqual((await withTimeout(sbx.files.getInfo('md/b.txt'), CALL_MS, 'getInfo')).metadata, meta);
    const listed = await withTimeout(sbx.files.list('md'), CALL_MS, 'list');
    assert.deepEqual(Object.fromEntries(listed.map((e) => [e.name, e.metadata])), { 'a.txt': meta, 'b.txt': meta });
    const renamed = await withTimeout(sbx.files.rename('md/a.txt', 'md/c.txt'), CALL_MS, 'rename');
    assert.deepEqual(renamed.metadata, meta);
    // An out-of-band change of the content keeps it (as an xattr would).
    await run(sbx, 'echo more >> md/c.txt');
    assert.deepEqual((await withTimeout(sbx.files.getInfo('md/c.txt'), CALL_MS, 'getInfo')).metadata, meta);
  });

  test('writeFiles applies it to every file; an overwrite without metadata clears it', 180_000, async () => {
    const infos = await withTimeout(
      sbx.files.writeFiles([{ path: 'mw/1.txt', data: '1' }, { path: 'mw/2.txt', data: '2' }], { metadata: { source: 'suite' } }),
      CALL_MS,
      'writeFiles',
    );
    assert.deepEqual(infos.map((i) => i.metadata), [{ source: 'suite' }, { source: 'suite' }]);
    const over = await withTimeout(sbx.files.write('mw/1.txt', 'again'), CALL_MS, 'write');
    assert.equal(over.metadata, undefined);
    assert.equal((await withTimeout(sbx.files.getInfo('mw/1.txt'), CALL_MS, 'getInfo')).metadata, undefined);
    assert.deepEqual((await withTimeout(sbx.files.getInfo('mw/2.txt'), CALL_MS, 'getInfo')).metadata, { source: 'suite' });
  });
});
