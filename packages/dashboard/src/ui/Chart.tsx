import { chartGeometry, type Sample } from '../model/chart.js';

const BOX = { width: 560, height: 160, pad: 12 };

/** A line chart of one series, hand-drawn in SVG: the line, a dot per sample, the y axis' top. */
export function Chart({ name, title, samples, minYMax, format }: { name: string; title: string; samples: Sample[]; minYMax: number; format: (v: number) => string }) {
  const g = chartGeometry(samples, { ...BOX, minYMax });
  const last = samples.length > 0 ? samples.reduce((a, b) => (b.t > a.t ? b : a)) : undefined;
  return (
    <figure class="chart">
      <figcaption>
        {title} <strong>{last ? format(last.v) : '–'}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} role="img" aria-label={`${title} over time`} data-chart={name} data-points={g.points.length}>
        <line class="axis" x1={BOX.pad} y1={BOX.height - BOX.pad} x2={BOX.width - BOX.pad} y2={BOX.height - BOX.pad} />
        <line class="grid" x1={BOX.pad} y1={BOX.pad} x2={BOX.width - BOX.pad} y2={BOX.pad} />
        <text class="label" x={BOX.pad + 2} y={BOX.pad - 2}>
          {format(g.yMax)}
        </text>
        {g.path !== '' && <path class="line" d={g.path} />}
        {g.points.map((p) => (
          <circle class="point" key={p.sample.t} cx={p.x} cy={p.y} r={2.5}>
            <title>
              {new Date(p.sample.t).toLocaleTimeString()}: {format(p.sample.v)}
            </title>
          </circle>
        ))}
      </svg>
      {g.points.length > 0 && (
        <div class="chart-times muted">
          <span>{new Date(g.tStart).toLocaleTimeString()}</span>
          <span>{new Date(g.tEnd).toLocaleTimeString()}</span>
        </div>
      )}
    </figure>
  );
}
