import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chunkText, MAX_CHUNK_BYTES } from './chunk.js';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function check(text: string, maxBytes?: number): string[] {
  const pieces = [...chunkText(text, maxBytes)];
  assert.equal(pieces.join(''), text, 'the pieces concatenate to the text');
  for (const piece of pieces) {
    assert.ok(bytes(piece) <= (maxBytes ?? MAX_CHUNK_BYTES), `piece of ${bytes(piece)} bytes`);
    assert.ok(piece.length > 0);
    const last = piece.charCodeAt(piece.length - 1);
    assert.ok(!(last >= 0xd800 && last <= 0xdbff), 'no piece ends inside a surrogate pair');
  }
  return pieces;
}

describe('chunkText', () => {
  it('leaves small text whole (empty text too)', () => {
    assert.deepEqual([...chunkText('hello\n')], ['hello\n']);
    assert.deepEqual([...chunkText('')], ['']);
  });

  it('splits one huge line into pieces of at most 64 KiB', () => {
    const text = 'x'.repeat(1_000_000);
    const pieces = check(text);
    assert.equal(pieces.length, Math.ceil(1_000_000 / MAX_CHUNK_BYTES));
    assert.equal(pieces[0]!.length, MAX_CHUNK_BYTES);
  });

  it('cuts after a newline when one lies in the second half of the window', () => {
    const line = `${'a'.repeat(99)}\n`;
    const pieces = check(line.repeat(10_000));
    assert.ok(pieces.length > 1);
    for (const piece of pieces) assert.ok(piece.endsWith('\n'), 'whole lines');
  });

  it('counts UTF-8 bytes, not UTF-16 units, and never splits a surrogate pair', () => {
    check('é'.repeat(100_000)); // 2 bytes each
    check('€'.repeat(100_000)); // 3 bytes each
    check('😀'.repeat(50_000)); // a surrogate pair, 4 bytes
    check(`x${'😀'.repeat(50_000)}`); // pairs straddle every even cut
    check(`${'x'.repeat(65_535)}😀${'y'.repeat(10)}`);
    for (const max of [4, 5, 7, 100]) check(`ab😀c€é\n😀😀xyz${'é😀'.repeat(50)}`, max);
  });

  it('keeps lone surrogates and mixed text intact', () => {
    check(`\ud800${'x'.repeat(70_000)}\udc00${'y'.repeat(70_000)}`);
  });
});
