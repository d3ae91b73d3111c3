import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleToResult, stripQuotes } from './mime.js';

describe('MIME bundle to E2B result', () => {
  it('maps known MIME types onto result fields and the rest into extra', () => {
    const line = bundleToResult(
      {
        'text/plain': "'hello'",
        'text/html': '<b>x</b>',
        'image/png': 'iVBOR',
        'application/json': { a: 1 },
        'e2b/data': { col: [1, 2] },
        'e2b/chart': { type: 'line', title: null, elements: [] },
        'application/vnd.custom': 'v',
      },
      true,
    );
    assert.equal(line.type, 'result');
    assert.equal(line.is_main_result, true);
    assert.equal(line.text, 'hello');
    assert.equal(line.html, '<b>x</b>');
    assert.equal(line.png, 'iVBOR');
    assert.deepEqual(line.json, { a: 1 });
    assert.deepEqual(line.data, { col: [1, 2] });
    assert.deepEqual(line.chart, { type: 'line', title: null, elements: [] });
    assert.deepEqual(line.extra, { 'application/vnd.custom': 'v' });
  });

  it('marks display_data results as not main and keeps extra empty when nothing is left', () => {
    const line = bundleToResult({ 'text/markdown': '**hi**' }, false);
    assert.equal(line.is_main_result, false);
    assert.equal(line.markdown, '**hi**');
    assert.deepEqual(line.extra, {});
  });

  it('drops an empty chart instead of sending an invalid one', () => {
    assert.equal(bundleToResult({ 'e2b/chart': {} }, false).chart, undefined);
  });

  it('strips one pair of matching quotes only', () => {
    assert.equal(stripQuotes('"a"'), 'a');
    assert.equal(stripQuotes("'a'"), 'a');
    assert.equal(stripQuotes('"a\''), '"a\'');
    assert.equal(stripQuotes('2'), '2');
    assert.equal(stripQuotes('"'), '"');
  });
});
