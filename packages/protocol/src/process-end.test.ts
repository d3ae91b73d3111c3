import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { StartResponseSchema } from './gen/process/process_pb.js';
import { processEndOf } from './process-end.js';

describe('processEndOf', () => {
  it('reads the end event of a binary message and nothing of other events', () => {
    const end = toBinary(StartResponseSchema, create(StartResponseSchema, { event: { event: { case: 'end', value: { exitCode: 2, exited: true, status: 'exit status 2' } } } }));
    assert.deepEqual(processEndOf(end, 'proto'), { exitCode: 2, exited: true, status: 'exit status 2' });
    const start = toBinary(StartResponseSchema, create(StartResponseSchema, { event: { event: { case: 'start', value: { pid: 4 } } } }));
    assert.equal(processEndOf(start, 'proto'), undefined);
    assert.equal(processEndOf(new Uint8Array([0xff, 0xff, 0xff]), 'proto'), undefined);
  });

  it('reads the end event of a JSON message, defaults omitted', () => {
    const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    assert.deepEqual(processEndOf(bytes({ event: { end: { exited: true, status: 'exit status 0' } } }), 'json'), { exitCode: 0, exited: true, status: 'exit status 0' });
    assert.deepEqual(processEndOf(bytes({ event: { end: { exitCode: -1, status: 'signal: killed' } } }), 'json'), { exitCode: -1, exited: false, status: 'signal: killed' });
    assert.equal(processEndOf(bytes({ event: { keepalive: {} } }), 'json'), undefined);
    assert.equal(processEndOf(new TextEncoder().encode('{'), 'json'), undefined);
  });
});
