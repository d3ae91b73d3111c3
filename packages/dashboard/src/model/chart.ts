/** Scales a time series into the coordinates of an SVG chart. Pure. */

export interface Sample {
  /** Time, ms. */
  t: number;
  v: number;
}

export interface ChartBox {
  width: number;
  height: number;
  /** Space kept free around the plot, px. */
  pad: number;
  /** The y axis' top when no sample is above it (e.g. 100 for percent). */
  minYMax: number;
}

export interface ChartGeometry {
  points: Array<{ x: number; y: number; sample: Sample }>;
  /** `M x y L x y …`, empty without samples. */
  path: string;
  yMax: number;
  tStart: number;
  tEnd: number;
}

/**
 * Places samples (any order, non-finite values dropped) left to right by time and bottom to top
 * by value, from 0 to max(minYMax, largest value). One sample sits in the middle of the x axis.
 */
export function chartGeometry(samples: readonly Sample[], box: ChartBox): ChartGeometry {
  const valid = samples.filter((s) => Number.isFinite(s.t) && Number.isFinite(s.v)).sort((a, b) => a.t - b.t);
  const yMax = Math.max(box.minYMax, ...valid.map((s) => s.v));
  const tStart = valid[0]?.t ?? 0;
  const tEnd = valid[valid.length - 1]?.t ?? 0;
  const plotW = box.width - 2 * box.pad;
  const plotH = box.height - 2 * box.pad;
  const round = (n: number) => Math.round(n * 10) / 10;
  const points = valid.map((sample) => ({
    x: round(box.pad + (tEnd === tStart ? plotW / 2 : ((sample.t - tStart) / (tEnd - tStart)) * plotW)),
    y: round(box.pad + plotH - (yMax > 0 ? (Math.max(0, sample.v) / yMax) * plotH : 0)),
    sample,
  }));
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ');
  return { points, path, yMax, tStart, tEnd };
}
