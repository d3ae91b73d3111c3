import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFrame, encodeJsonFrame, FrameDecoder, FrameError, FrameType, parseRequest } from './sudo-frames.js';

describe('sudo protocol framing', () => {
  it('reassembles frames split at any byte', () => {
    const wire = Buffer.concat([
      encodeJsonFrame(FrameType.REQUEST, { a: 1 }),
      encodeFrame(FrameType.STDIN, Buffer.from([0, 1, 2, 255])),
      encodeFrame(FrameType.STDIN_EOF),
    ]);
    for (let split = 0; split <= wire.length; split++) {
      const d = new FrameDecoder();
      const frames = [...d.push(wire.subarray(0, split)), ...d.push(wire.subarray(split))];
      assert.deepEqual(
        frames.map((f) => [f.type, [...f.payload]]),
        [
          [FrameType.REQUEST, [...Buffer.from('{"a":1}')]],
          [FrameType.STDIN, [0, 1, 2, 255]],
          [FrameType.STDIN_EOF, []],
        ],
      );
      assert.equal(d.pending, 0);
    }
  });

  it('rejects oversized frames', () => {
    const d = new FrameDecoder(10);
    assert.throws(() => d.push(encodeFrame(FrameType.STDIN, Buffer.alloc(11))), FrameError);
  });

  it('validates requests', () => {
    const ok = parseRequest(
      Buffer.from(JSON.stringify({ version: 1, argv: ['id'], user: 'root', cwd: '/', env: { A: 'b', 'X=Y': 'z' }, tty: true, cols: 80, rows: 0 })),
    );
    assert.deepEqual(ok, { version: 1, argv: ['id'], user: 'root', cwd: '/', env: { A: 'b' }, tty: true, cols: 80 });
    for (const bad of [
      '{',
      '[]',
      JSON.stringify({ version: 2, argv: ['id'], user: 'root', cwd: '/', env: {} }),
      JSON.stringify({ version: 1, argv: [], user: 'root', cwd: '/', env: {} }),
      JSON.stringify({ version: 1, argv: ['id'], user: '', cwd: '/', env: {} }),
      JSON.stringify({ version: 1, argv: ['id'], user: 'root', cwd: 'rel', env: {} }),
      JSON.stringify({ version: 1, argv: ['id'], user: 'root', cwd: '/', env: { A: 1 } }),
    ]) {
      assert.throws(() => parseRequest(Buffer.from(bad)), FrameError, bad);
    }
  });
});
