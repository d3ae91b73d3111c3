import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { columnLabel, usageView } from './usage.js';

describe('usageView', () => {
  it('makes a table of an array of objects, columns in first-seen order, nested objects flattened', () => {
    const view = usageView([{ keyId: 'k1', sandboxSeconds: 12.34567, cpu: { seconds: 3 } }, { keyId: 'k2', egressBytes: 10 }]);
    assert.deepEqual(view.summary, []);
    assert.deepEqual(view.tables, [
      { title: '', columns: ['keyId', 'sandboxSeconds', 'cpu.seconds', 'egressBytes'], rows: [['k1', '12.346', '3', ''], ['k2', '', '', '10']] },
    ]);
  });

  it('splits an object into scalar facts and tables of its arrays and maps', () => {
    const view = usageView({ start: '2026-01-01T00:00:00Z', total: { executions: 4 }, keys: [{ id: 'a', executions: 4 }], byKey: { a: { executions: 4 }, b: { executions: 0 } } });
    assert.deepEqual(view.summary, [['start', '2026-01-01T00:00:00Z'], ['total.executions', '4']]);
    assert.deepEqual(view.tables.map((t) => [t.title, t.columns, t.rows]), [
      ['keys', ['id', 'executions'], [['a', '4']]],
      ['byKey', ['id', 'executions'], [['a', '4'], ['b', '0']]],
    ]);
  });

  it('shows a scalar body as one value and arrays inside rows as JSON', () => {
    assert.deepEqual(usageView(42), { summary: [['value', '42']], tables: [] });
    assert.deepEqual(usageView([{ tags: ['x', 'y'], n: null }]).tables[0]!.rows, [['["x","y"]', '']]);
  });

  it('turns field names into headings', () => {
    assert.equal(columnLabel('sandboxSeconds'), 'sandbox seconds');
    assert.equal(columnLabel('memoryGiBSeconds'), 'memory GiB seconds');
    assert.equal(columnLabel('cpu.seconds'), 'cpu seconds');
    assert.equal(columnLabel('keyID'), 'key ID');
    assert.equal(columnLabel('egressBytes'), 'egress bytes');
    assert.equal(columnLabel('CPUSeconds'), 'CPU seconds');
    assert.equal(columnLabel('start'), 'start');
  });
});
