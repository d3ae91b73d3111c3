import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { CALL_MS, createSandbox, e2eTest, rawFetch, run } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

let stack: Stack;
let sbx: Sandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  sbx = await createSandbox(stack, { secure: false });
});

after(async () => {
  await sbx?.kill().catch(() => undefined);
  await stack?.stop();
});

/** The sandbox still does ordinary work: a command, a file round trip, and it is listed. */
async function assertHealthy(label: string): Promise<void> {
  assert.equal((await run(sbx, 'echo ok')).stdout.trim(), 'ok', `${label}: commands`);
  await withTimeout(sbx.files.write('/home/user/after-bad-input.txt', label), CALL_MS, 'write');
  assert.equal(await withTimeout(sbx.files.read('/home/user/after-bad-input.txt'), CALL_MS, 'read'), label, `${label}: files`);
  assert.equal(await withTimeout(sbx.isRunning(), CALL_MS, 'isRunning'), true, `${label}: running`);
}

describe('the agent never dies of bad input', () => {
  test('broken uploads answer 4xx and the sandbox lives on', 240_000, async () => {
    const url = await sbx.uploadUrl('/home/user/bad-upload.txt');
    const boundary = 'sandboxdboundary';
    const multipart = (body: string) => ({
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    const part = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nhello`;
    const cases: Array<[string, RequestInit]> = [
      ['gzip label, not gzip', { ...multipart(`${part}\r\n--${boundary}--\r\n`), headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Encoding': 'gzip' } }],
      ['form cut before its closing boundary', multipart(part)],
      ['no boundary in the body', multipart('just some bytes')],
      ['boundary missing from the header', { method: 'POST', headers: { 'Content-Type': 'multipart/form-data' }, body: part }],
      ['unknown content encoding', { ...multipart(`${part}\r\n--${boundary}--\r\n`), headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Encoding': 'br' } }],
    ];
    for (const [label, init] of cases) {
      const res = await rawFetch(url, init);
      assert.ok(res.status >= 400 && res.status < 500, `${label}: answered ${res.status} ${res.text}`);
    }
    await assertHealthy('after broken uploads');
  });

  test('downloads of a FIFO, a directory and a NUL path answer 4xx, even many at once', 240_000, async () => {
    await run(sbx, 'mkfifo /home/user/fifo && mkdir -p /home/user/dir');
    const urls = [await sbx.downloadUrl('/home/user/fifo'), await sbx.downloadUrl('/home/user/dir')];
    // More FIFO downloads than the agent has file-I/O threads: none may block it.
    const fifoUrl = urls[0]!;
    const results = await Promise.all([...Array.from({ length: 6 }, () => rawFetch(fifoUrl)), rawFetch(urls[1]!)]);
    for (const res of results) assert.ok(res.status >= 400 && res.status < 500, `answered ${res.status} ${res.text}`);
    const route = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983' };
    const nul = await rawFetch(`${stack.sandboxUrl}/files?path=%2Fetc%2Fho%00stname&username=user`, { headers: route });
    assert.ok(nul.status >= 400 && nul.status < 500, `NUL path answered ${nul.status}`);
    await assertHealthy('after bad downloads');
  });

  test('malformed Connect requests answer errors and the sandbox lives on', 120_000, async () => {
    const route = { 'E2b-Sandbox-Id': sbx.sandboxId, 'E2b-Sandbox-Port': '49983', 'Connect-Protocol-Version': '1' };
    const bodies: Array<[string, string, string]> = [
      ['not JSON', 'application/json', '{"path": '],
      ['deeply nested JSON', 'application/json', '['.repeat(100_000) + ']'.repeat(100_000)],
      ['wrong field types', 'application/json', JSON.stringify({ path: 42, depth: 'deep' })],
      ['garbage protobuf', 'application/proto', '\xff\xff\xff\xff\xff'],
    ];
    for (const [label, type, body] of bodies) {
      const res = await rawFetch(`${stack.sandboxUrl}/filesystem.Filesystem/ListDir`, { method: 'POST', headers: { ...route, 'Content-Type': type }, body });
      assert.ok(res.status >= 400, `${label}: answered ${res.status}`);
    }
    await assertHealthy('after malformed Connect requests');
  });
});
