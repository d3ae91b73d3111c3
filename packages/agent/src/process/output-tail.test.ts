import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutputTail } from './output-tail.js';

describe('output tail', () => {
  it('keeps everything while under the limit', () => {
    const tail = new OutputTail(16);
    tail.push(Buffer.from('abc'));
    tail.push(Buffer.from('def'));
    assert.equal(tail.text(), 'abcdef');
  });

  it('keeps only the last bytes of many small chunks', () => {
    const tail = new OutputTail(10);
    for (let i = 0; i < 100; i++) tail.push(Buffer.from(String(i % 10)));
    assert.equal(tail.text(), '0123456789');
  });

  it('keeps the end of one huge chunk', () => {
    const tail = new OutputTail(4);
    tail.push(Buffer.from('x'.repeat(1000) + 'tail'));
    assert.equal(tail.text(), 'tail');
  });

  it('drops a multibyte character cut at the start', () => {
    const tail = new OutputTail(3);
    tail.push(Buffer.from('é' + 'ab')); // 2 + 2 bytes: the cut falls inside é
    assert.equal(tail.text(), 'ab');
  });
});
