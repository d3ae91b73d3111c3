import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent } from '../../test/agent-fixture.js';
import type { AgentFixture } from '../../test/agent-fixture.js';

const B = 'upload-test-boundary';
const form = { 'Content-Type': `multipart/form-data; boundary=${B}` };

/** One multipart part; `filename` undefined leaves the parameter out of Content-Disposition. */
function part(name: string, filename: string | undefined, content: Uint8Array | string, contentType?: string): Buffer {
  const disposition = `form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}`;
  const type = contentType === undefined ? '' : `Content-Type: ${contentType}\r\n`;
  return Buffer.concat([Buffer.from(`--${B}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), Buffer.from(content), Buffer.from('\r\n')]);
}
const body = (...parts: Buffer[]): Buffer => Buffer.concat([...parts, Buffer.from(`--${B}--\r\n`)]);

describe('POST /files multipart parts', () => {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgent();
  });
  after(async () => {
    await fx.stop();
  });
  const upload = (query: Record<string, string>, bytes: Buffer) =>
    fetch(`${fx.url}/files?${new URLSearchParams(query)}`, { method: 'POST', headers: form, body: bytes });

  it('writes a `file` part without a filename to the path query, streamed byte for byte (not read as a form field)', async () => {
    const path = join(fx.dir, 'nofilename', 'data.bin');
    // Over busboy's 1 MB field limit and not valid UTF-8: a form field would be cut and mangled.
    const data = randomBytes(3 * 1024 * 1024);
    const res = await upload({ path }, body(part('file', undefined, data)));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), [{ path, name: 'data.bin', type: 'file' }]);
    assert.ok((await readFile(path)).equals(data));
  });

  it('writes a `file` part without a filename sent as application/octet-stream to the path query', async () => {
    const path = join(fx.dir, 'octet-part.bin');
    const res = await upload({ path }, body(part('other', undefined, 'field value'), part('file', undefined, 'octet', 'application/octet-stream')));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), [{ path, name: 'octet-part.bin', type: 'file' }]);
    assert.equal(await readFile(path, 'utf8'), 'octet');
  });

  it('answers 400 for a `file` part without a filename and no path query, writing nothing', async () => {
    const res = await upload({}, body(part('file', undefined, 'lost')));
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      code: 400,
      message: 'error getting multipart custom part file name: filename not found in Content-Disposition header',
    });
  });

  it('prefers the path query over a part filename', async () => {
    const path = join(fx.dir, 'query-wins.txt');
    const ignored = join(fx.dir, 'filename-loses.txt');
    const res = await upload({ path }, body(part('file', ignored, 'q')));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), [{ path, name: 'query-wins.txt', type: 'file' }]);
    assert.equal(await readFile(path, 'utf8'), 'q');
    await assert.rejects(stat(ignored), { code: 'ENOENT' });
  });

  it('refuses two `file` parts for one path query, keeping the first', async () => {
    const path = join(fx.dir, 'twice.txt');
    const res = await upload({ path }, body(part('file', undefined, 'first'), part('file', undefined, 'second')));
    assert.equal(res.status, 400);
    const err = (await res.json()) as { code: number; message: string };
    assert.equal(err.message, `you cannot upload multiple files to the same path '${path}' in one upload request, only the first specified file was uploaded`);
    assert.equal(await readFile(path, 'utf8'), 'first');
  });

  it('takes a UTF-8 filename as the path, byte for byte', async () => {
    const path = join(fx.dir, 'ünïcödé ✓.txt');
    const res = await upload({}, body(part('file', path, 'utf8')));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), [{ path, name: 'ünïcödé ✓.txt', type: 'file' }]);
    assert.equal(await readFile(path, 'utf8'), 'utf8');
  });

  it('ignores parts not named `file`, with or without a filename', async () => {
    const stray = join(fx.dir, 'stray.txt');
    const kept = join(fx.dir, 'kept.txt');
    const res = await upload({}, body(part('notfile', stray, 'nope'), part('field', undefined, 'v'), part('file', kept, 'yes')));
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), [{ path: kept, name: 'kept.txt', type: 'file' }]);
    await assert.rejects(stat(stray), { code: 'ENOENT' });
  });
});
