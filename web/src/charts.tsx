// Charts. Plotting needs pixel positions, so chart series are converted to numbers here and
// only here; every number a person reads (labels, tables, legends) is the API's exact string.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatPercent } from './format.ts';

export interface LineSeries {
  label: string;
  values: Array<string | null>;
}

const COLORS = ['#2f6fde', '#d9822b', '#2a9d62', '#b84dbd', '#c0392b'];

/** A uPlot line chart over UTC timestamps (seconds). */
export function LineChart({ times, series, label, height = 260 }: { times: number[]; series: LineSeries[]; label: string; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    const data: uPlot.AlignedData = [times, ...series.map((s) => s.values.map((v) => (v === null ? null : Number(v))))];
    const plot = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height,
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2 }))],
        axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', size: 70 }],
      },
      data,
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(300, el.clientWidth), height });
    addEventListener('resize', resize);
    return () => {
      removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [times, series, height]);
  return <div ref={host} class="chart" role="img" aria-label={label} />;
}

export interface Slice {
  label: string;
  /** Percentage as the API's decimal string. */
  percent: string;
}

/** Allocation donut as SVG: each slice is an arc whose length is its percentage of 100. */
export function Donut({ slices, label }: { slices: Slice[]; label: string }) {
  const r = 15.915494; // circumference 100, so a percentage is an arc length
  let offset = 25;
  return (
    <figure class="donut">
      <svg viewBox="0 0 42 42" width="180" height="180" role="img" aria-label={label}>
        <circle cx="21" cy="21" r={r} fill="none" stroke="var(--muted-bg)" stroke-width="6" />
        {slices.map((s, i) => {
          const len = Number(s.percent);
          const el = (
            <circle
              key={s.label}
              cx="21"
              cy="21"
              r={r}
              fill="none"
              stroke={COLORS[i % COLORS.length]}
              stroke-width="6"
              stroke-dasharray={`${len} ${100 - len}`}
              stroke-dashoffset={String(offset)}
            />
          );
          offset -= len;
          return el;
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {slices.map((s, i) => (
            <li key={s.label}>
              <span class="swatch" data-color={i % COLORS.length} aria-hidden="true" /> {s.label}: {formatPercent(s.percent)}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
