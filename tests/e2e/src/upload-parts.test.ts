import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, rawFetch, run, sha256 } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: Sandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createSandbox(stack, { metadata: { suite: 'upload-parts', run: RUN_ID } });
});
after(async () => {
  if (sbx) console.error(`[e2e] upload-parts sandbox: ${sbx.sandboxId}`);
  await sbx?.kill().catch(() => undefined);
  await stack?.stop();
});

const boundary = 'sandboxd-upload-parts';
/** A raw multipart body with one part named `file` and no filename in its Content-Disposition. */
function formWithoutFilename(content: Uint8Array): RequestInit {
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    method: 'POST',
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body: Buffer.concat([head, Buffer.from(content), tail]),
  };
}

describe('multipart parts without a filename (envd parity)', () => {
  test('a `file` part without a filename is written to the path of the upload URL', 120_000, async () => {
    const path = '/home/user/parts/no-filename.bin';
    // Larger than a form field may be and not UTF-8: only a streamed file part arrives intact.
    const data = randomBytes(2 * 1024 * 1024);
    const url = await withTimeout(sbx.uploadUrl(path), CALL_MS, 'uploadUrl');
    const res = await rawFetch(url, formWithoutFilename(data), 60_000);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json, [{ path, name: 'no-filename.bin', type: 'file' }]);
    assert.equal((await run(sbx, `sha256sum ${path}`)).stdout.split(' ')[0], sha256(data));
    assert.equal((await withTimeout(sbx.files.getInfo(path), CALL_MS, 'getInfo')).owner, 'user');
  });

  test('without a path in the URL, a `file` part without a filename is refused with 400', 120_000, async () => {
    const url = await withTimeout(sbx.uploadUrl(), CALL_MS, 'uploadUrl');
    assert.ok(!new URL(url).searchParams.has('path'), url);
    const res = await rawFetch(url, formWithoutFilename(Buffer.from('nowhere to go')));
    assert.equal(res.status, 400, res.text);
    assert.deepEqual(res.json, {
      code: 400,
      message: 'error getting multipart custom part file name: filename not found in Content-Disposition header',
    });
  });
});
