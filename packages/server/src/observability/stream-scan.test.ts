import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandScanner, executionScanner } from './stream-scan.js';

const lines = (...objects: unknown[]): Buffer => Buffer.from(objects.map((o) => `${JSON.stringify(o)}\n`).join(''));

/** Splits `buf` into chunks of `size` bytes (a stream's arbitrary boundaries). */
const chunks = (buf: Buffer, size: number): Buffer[] => {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
};

const envelope = (flags: number, payload: Uint8Array): Buffer => {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
};
const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('execution stream scanner', () => {
  it('says ok, error or interrupted from the NDJSON lines, at any chunk boundary', () => {
    const ok = lines({ type: 'stdout', text: 'x'.repeat(5000) }, { type: 'result', text: '2' }, { type: 'usage', wall_time_ms: 1 }, { type: 'end_of_execution' });
    const failed = lines({ type: 'error', name: 'NameError', value: 'x', traceback: '' }, { type: 'end_of_execution' });
    const cut = lines({ type: 'stdout', text: 'a' }, { type: 'keepalive' });
    for (const size of [1, 3, 7, 64, 100_000]) {
      const scan = (buf: Buffer, complete = true) => {
        const s = executionScanner();
        for (const c of chunks(buf, size)) s.push(c);
        return s.outcome(complete);
      };
      assert.equal(scan(ok), 'ok', `chunk ${size}`);
      assert.equal(scan(failed), 'error', `chunk ${size}`);
      assert.equal(scan(cut), 'interrupted', `chunk ${size}`);
      assert.equal(scan(ok, false), 'interrupted', `chunk ${size}: a body that was cut`);
    }
  });

  it('does not take a type named inside a value for the line type', () => {
    const s = executionScanner();
    s.push(lines({ type: 'stdout', text: '{"type":"error"}' }, { type: 'end_of_execution' }));
    assert.equal(s.outcome(true), 'ok');
  });
});

describe('command stream scanner', () => {
  const endJson = (end: Record<string, unknown>) => envelope(0, json({ event: { end } }));
  const trailer = (body: unknown = {}) => envelope(2, json(body));

  it('reads the end event of a JSON stream: exit 0 ok, other codes error, a signal interrupted', () => {
    const start = envelope(0, json({ event: { start: { pid: 7 } } }));
    const data = envelope(0, json({ event: { data: { stdout: Buffer.alloc(10_000).toString('base64') } } }));
    const cases: Array<[Buffer, string]> = [
      [Buffer.concat([start, data, endJson({ exited: true, status: 'exit status 0' }), trailer()]), 'ok'],
      [Buffer.concat([start, endJson({ exitCode: 3, exited: true, status: 'exit status 3' }), trailer()]), 'error'],
      [Buffer.concat([start, endJson({ exitCode: -1, status: 'signal: killed' }), trailer()]), 'interrupted'],
      [Buffer.concat([start, data]), 'interrupted'],
      [trailer({ error: { code: 'not_found', message: 'no such file' } }), 'error'],
    ];
    for (const [buf, expected] of cases) {
      for (const size of [1, 5, 6, 1000, 100_000]) {
        const s = commandScanner('json');
        for (const c of chunks(buf, size)) s.push(c);
        assert.equal(s.outcome(true), expected, `${expected}, chunk ${size}`);
      }
    }
  });

});
