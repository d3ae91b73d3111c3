import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chartGeometry } from './chart.js';

const box = { width: 120, height: 60, pad: 10, minYMax: 100 };

describe('chartGeometry', () => {
  it('spans the plot from the first to the last sample, zero at the bottom', () => {
    const g = chartGeometry([{ t: 3000, v: 100 }, { t: 1000, v: 0 }, { t: 2000, v: 50 }], box);
    assert.deepEqual(g.points.map((p) => [p.x, p.y]), [[10, 50], [60, 30], [110, 10]]);
    assert.equal(g.path, 'M10 50 L60 30 L110 10');
    assert.equal(g.tStart, 1000);
    assert.equal(g.tEnd, 3000);
    assert.equal(g.yMax, 100);
  });

  it('raises the top above minYMax for larger values and drops values that are not numbers', () => {
    const g = chartGeometry([{ t: 0, v: 200 }, { t: 1, v: Number.NaN }, { t: 2, v: 100 }], box);
    assert.equal(g.yMax, 200);
    assert.deepEqual(g.points.map((p) => p.y), [10, 30]);
  });

  it('puts one sample in the middle, draws nothing without samples', () => {
    assert.deepEqual(chartGeometry([{ t: 5, v: 25 }], box).points.map((p) => [p.x, p.y]), [[60, 40]]);
    const empty = chartGeometry([], box);
    assert.equal(empty.path, '');
    assert.equal(empty.points.length, 0);
  });

  it('keeps negative values on the axis and a zero top flat', () => {
    assert.equal(chartGeometry([{ t: 0, v: -5 }, { t: 1, v: 10 }], box).points[0]!.y, 50);
    assert.deepEqual(chartGeometry([{ t: 0, v: 0 }], { ...box, minYMax: 0 }).points.map((p) => p.y), [50]);
  });
});
