import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ExecutionLine } from '@sandboxd/protocol';
import { frame, withKeepalive } from './ndjson.js';
import { PushStream } from './push-stream.js';

describe('NDJSON framing', () => {
  it('writes one JSON object per line', () => {
    assert.equal(frame({ type: 'end_of_execution' }), '{"type":"end_of_execution"}\n');
  });

  it('inserts keepalives while no line arrives and ends with the source', async () => {
    const lines = new PushStream<ExecutionLine>();
    setTimeout(() => lines.push({ type: 'stdout', text: 'x', timestamp: 't' }), 35);
    setTimeout(() => {
      void lines.push({ type: 'end_of_execution' });
      lines.end();
    }, 40);
    const frames: string[] = [];
    for await (const f of withKeepalive(lines, 15)) frames.push(f);
    const types = frames.map((f) => (JSON.parse(f) as { type: string }).type);
    assert.ok(types.filter((t) => t === 'keepalive').length >= 1);
    assert.deepEqual(types.slice(-2), ['stdout', 'end_of_execution']);
    assert.ok(frames.every((f) => f.endsWith('\n') && !f.slice(0, -1).includes('\n')));
  });
});
