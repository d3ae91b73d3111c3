import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { createHeader, decodeMessage, DELIMITER, encodeMessage, sign, WireError } from './wire.js';

describe('jupyter wire format', () => {
  const key = 'secret-key';
  const message = {
    header: createHeader('execute_request', 'session-1'),
    parent_header: {},
    metadata: {},
    content: { code: '1+1', silent: false },
  };

  it('signs the four JSON frames with HMAC-SHA256 in hex', () => {
    const frames = encodeMessage(key, message);
    assert.equal(frames[0]!.toString(), DELIMITER);
    const expected = createHmac('sha256', key);
    for (const frame of frames.slice(2)) expected.update(frame);
    assert.equal(frames[1]!.toString(), expected.digest('hex'));
  });

  it('round-trips a message, skipping routing identities', () => {
    const frames = [Buffer.from('identity'), ...encodeMessage(key, message), Buffer.from('buffer')];
    const decoded = decodeMessage(key, frames);
    assert.deepEqual(decoded.header, message.header);
    assert.deepEqual(decoded.content, message.content);
    assert.equal(decoded.buffers.length, 1);
  });

  it('rejects a tampered message', () => {
    const frames = encodeMessage(key, message);
    frames[5] = Buffer.from(JSON.stringify({ code: 'import os' }));
    assert.throws(() => decodeMessage(key, frames), WireError);
  });

  it('rejects frames without the delimiter', () => {
    assert.throws(() => decodeMessage(key, [Buffer.from('x')]), WireError);
  });

  it('leaves the signature empty when the key is empty', () => {
    assert.equal(sign('', [Buffer.from('a')]), '');
    const decoded = decodeMessage('', encodeMessage('', message));
    assert.equal(decoded.header.msg_type, 'execute_request');
  });
});
