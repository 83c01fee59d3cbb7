// Candlesticks with indicator overlays and panes, drawn by lightweight-charts 5 (Apache-2.0,
// by TradingView; its attribution is shown under the chart). The library is loaded on first
// use, so pages without a candle chart do not download it. As in charts.tsx, prices become
// numbers only here, for drawing; the page shows the API's exact strings everywhere else.
// The library's own logo is switched off because it injects an inline <style>, which the
// strict CSP refuses; the attribution is a plain link instead.
import { useEffect, useRef } from 'preact/hooks';
import type { IChartApi, ISeriesApi, SeriesType, UTCTimestamp } from 'lightweight-charts';

export interface Candle {
  ts: string;
  open: string;
  high: string;
  low: string;
  close: string;
}

export interface Overlay {
  /** Indicator column, e.g. `sma_20`, `bb_upper_20_2`. */
  column: string;
  label: string;
  /** 0: the price pane; 1, 2: panes below it. */
  pane: number;
  kind?: 'line' | 'histogram';
}

const COLORS = ['#2f6fde', '#d9822b', '#2a9d62', '#b84dbd', '#c0392b', '#8a6d3b', '#17a2b8'];
const time = (ts: string) => Math.floor(Date.parse(ts) / 1000) as UTCTimestamp;
const num = (v: string) => Number(v);

export interface CandleChartHandle {
  /** Draws a forming bar (a new bar or an update of the last one). */
  update: (c: Candle) => void;
}

export function CandleChart({
  candles,
  overlays,
  values,
  label,
  onPickPrice,
  handle,
}: {
  candles: Candle[];
  overlays: Overlay[];
  /** Indicator values by candle `ts`, as the API's strings. */
  values: Map<string, Record<string, string | null>>;
  label: string;
  /** A click on the price pane: the price under the pointer, rounded to cents for display. */
  onPickPrice?: (price: string) => void;
  handle?: { current: CandleChartHandle | null };
}) {
  const host = useRef<HTMLDivElement>(null);
  const pick = useRef(onPickPrice);
  pick.current = onPickPrice;
  useEffect(() => {
    const el = host.current;
    if (el === null) return;
    let chart: IChartApi | undefined;
    let dead = false;
    void import('lightweight-charts').then((lc) => {
      if (dead) return;
      const style = getComputedStyle(el);
      const panes = 1 + Math.max(0, ...overlays.map((o) => o.pane));
      // autoSize follows the element's box, so the element gets the height (CSSOM, which the CSP allows).
      el.style.height = `${300 + (panes - 1) * 110}px`;
      chart = lc.createChart(el, {
        autoSize: true,
        layout: {
          attributionLogo: false,
          background: { type: lc.ColorType.Solid, color: 'transparent' },
          textColor: style.color,
        },
        grid: { vertLines: { color: 'rgba(128,128,128,0.15)' }, horzLines: { color: 'rgba(128,128,128,0.15)' } },
        timeScale: { borderVisible: false },
      });
      const price = chart.addSeries(lc.CandlestickSeries, { upColor: '#2a9d62', downColor: '#c0392b', wickUpColor: '#2a9d62', wickDownColor: '#c0392b', borderVisible: false });
      price.setData(candles.map((c) => ({ time: time(c.ts), open: num(c.open), high: num(c.high), low: num(c.low), close: num(c.close) })));
      overlays.forEach((o, i) => {
        const color = COLORS[i % COLORS.length] ?? '#888';
        const series: ISeriesApi<SeriesType> =
          o.kind === 'histogram'
            ? chart!.addSeries(lc.HistogramSeries, { color, title: o.label, priceLineVisible: false }, o.pane)
            : chart!.addSeries(lc.LineSeries, { color, lineWidth: 2, title: o.label, priceLineVisible: false, lastValueVisible: false }, o.pane);
        const points: Array<{ time: UTCTimestamp; value: number }> = [];
        for (const c of candles) {
          const v = values.get(c.ts)?.[o.column];
          if (v !== null && v !== undefined) points.push({ time: time(c.ts), value: num(v) });
        }
        series.setData(points);
      });
      // The price pane takes three shares of the height, each indicator pane one.
      chart.panes().forEach((p, i) => p.setStretchFactor(i === 0 ? 3 : 1));
      chart.timeScale().fitContent();
      chart.subscribeClick((param) => {
        if (param.point === undefined || pick.current === undefined || param.paneIndex !== 0) return;
        const p = price.coordinateToPrice(param.point.y);
        if (p !== null) pick.current(p.toFixed(2));
      });
      if (handle !== undefined) {
        handle.current = {
          update: (c) => {
            const last = candles.at(-1);
            // Never draw a bar older than the last stored one (the library refuses it).
            if (last !== undefined && time(c.ts) < time(last.ts)) return;
            price.update({ time: time(c.ts), open: num(c.open), high: num(c.high), low: num(c.low), close: num(c.close) });
          },
        };
      }
    });
    return () => {
      dead = true;
      if (handle !== undefined) handle.current = null;
      chart?.remove();
    };
  }, [candles, overlays, values]);
  return (
    <figure class="candles">
      <div ref={host} class="chart candle-chart" role="img" aria-label={label} data-testid="candle-chart" />
      <figcaption class="muted">
        Charts by{' '}
        <a href="https://www.tradingview.com/" rel="external noopener" target="_blank">
          TradingView Lightweight Charts™
        </a>{' '}
        (Apache-2.0).
      </figcaption>
    </figure>
  );
}
