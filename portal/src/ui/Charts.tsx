// Two small SVG charts, drawn here rather than with a charting library: the portal needs bars and
// lines over time, and a library would cost more than the rest of the portal's JavaScript. Each
// chart is an image with a text summary; the numbers are also in a table below it.

export interface Point {
  label: string;
  values: (number | null)[];
}

interface Series {
  name: string;
  className: string;
}

const W = 720;
const H = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 48 };

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const n = v / p;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
}

function axes(max: number, points: Point[], unit: string) {
  const ticks = [0, max / 2, max];
  const step = Math.max(1, Math.ceil(points.length / 8));
  const x = (i: number) => PAD.left + ((i + 0.5) * (W - PAD.left - PAD.right)) / Math.max(1, points.length);
  const y = (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  return {
    x,
    y,
    el: (
      <g className="axes" aria-hidden="true">
        {ticks.map((t) => (
          <g key={t}>
            <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="grid" />
            <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end">
              {Number.isInteger(t) ? t : t.toFixed(1)}
              {unit}
            </text>
          </g>
        ))}
        {points.map((p, i) =>
          i % step === 0 ? (
            <text key={i} x={x(i)} y={H - 8} textAnchor="middle">
              {p.label}
            </text>
          ) : null,
        )}
      </g>
    ),
  };
}

/** Stacked bars: one bar per point, one segment per series. */
export function StackedBars({ title, points, series, summary }: { title: string; points: Point[]; series: Series[]; summary: string }) {
  const max = niceMax(Math.max(0, ...points.map((p) => p.values.reduce<number>((a, v) => a + (v ?? 0), 0))));
  const { x, y, el } = axes(max, points, '');
  const bw = Math.max(2, ((W - PAD.left - PAD.right) / Math.max(1, points.length)) * 0.7);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${summary}`}>
        {el}
        {points.map((p, i) => {
          let base = 0;
          return (
            <g key={i}>
              {series.map((s, j) => {
                const v = p.values[j] ?? 0;
                const top = y(base + v);
                const r = <rect key={s.name} x={x(i) - bw / 2} width={bw} y={top} height={y(base) - top} className={s.className} />;
                base += v;
                return r;
              })}
            </g>
          );
        })}
      </svg>
      <Legend series={series} />
    </figure>
  );
}

/** Lines: one per series, gaps where a point has no value. */
export function Lines({
  title,
  points,
  series,
  unit,
  summary,
}: {
  title: string;
  points: Point[];
  series: Series[];
  unit: string;
  summary: string;
}) {
  const max = niceMax(Math.max(0, ...points.flatMap((p) => p.values.map((v) => v ?? 0))));
  const { x, y, el } = axes(max, points, unit);
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}: ${summary}`}>
        {el}
        {series.map((s, j) => {
          const d = points
            .map((p, i) => (p.values[j] === null ? null : `${x(i)},${y(p.values[j]!)}`))
            .reduce<string>((acc, pt, i, all) => (pt === null ? acc : acc + (i === 0 || all[i - 1] === null ? ' M' : ' L') + pt), '');
          return (
            <g key={s.name} className={s.className}>
              <path d={d} fill="none" />
              {points.map((p, i) => (p.values[j] === null ? null : <circle key={i} cx={x(i)} cy={y(p.values[j]!)} r={2.5} />))}
            </g>
          );
        })}
      </svg>
      <Legend series={series} />
    </figure>
  );
}

function Legend({ series }: { series: Series[] }) {
  return (
    <ul className="legend" aria-hidden="true">
      {series.map((s) => (
        <li key={s.name}>
          <span className={`swatch ${s.className}`} /> {s.name}
        </li>
      ))}
    </ul>
  );
}
