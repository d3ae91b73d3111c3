import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseOpenConnections } from './open-connections.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

describe('open connections of a sandbox', () => {
  it('ignores listeners and loopback, reports the rest decoded', () => {
    const text = [
      HEADER,
      '   0: 00000000:C34F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0        1 1 0000000000000000 0 0 0 0 -1',
      '   1: 0100007F:C34F 0100007F:A000 01 00000000:00000000 00:00000000 00000000     0        0        2 1 0000000000000000 0 0 0 0 -1',
      '   2: 0600D50A:C33F 0500D50A:D6C6 08 00000000:00000000 00:00000000 00000000     0        0        3 1 0000000000000000 0 0 0 0 -1',
      '',
    ].join('\n');
    assert.deepEqual(parseOpenConnections(text), [{ local: '10.213.0.6:49983', remote: '10.213.0.5:54982', state: 8 }]);
  });

  it('an idle sandbox (listeners only) has none', () => {
    assert.deepEqual(parseOpenConnections(`${HEADER}\n   0: 00000000:C34F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0        1 1 0000000000000000 0 0 0 0 -1\n`), []);
  });
});
