// Symbol: the live price (quotes channel), daily candlesticks with SMA/EMA/Bollinger overlays
// and RSI/MACD panes (lightweight-charts), the forming bar (candles channel), "add alert" from
// the chart (a click on the chart picks the threshold), the symbol's news, add to watchlist.
import { useMemo, useRef, useState } from 'preact/hooks';
import { AlertForm } from '../alert-form.tsx';
import { api } from '../api.ts';
import { CandleChart, type Candle, type CandleChartHandle, type Overlay } from '../candles.tsx';
import { formatDecimal } from '../format.ts';
import { useLive, type LiveMessage } from '../live.ts';
import { NewsList, type NewsItem } from './news.tsx';
import type { Quote } from '../types.ts';
import { ErrorBox, LiveBadge, Section, errorText, useLoad } from '../ui.tsx';

interface Indicators {
  columns: string[];
  items: Array<{ ts: string; values: Record<string, string | null> }>;
}

const TOGGLES = ['SMA', 'EMA', 'Bollinger', 'RSI', 'MACD'] as const;
type Toggle = (typeof TOGGLES)[number];

export function SymbolPage({ symbol }: { symbol: string }) {
  const [period, setPeriod] = useState('20');
  const [shown, setShown] = useState<Set<Toggle>>(new Set(['SMA', 'Bollinger', 'RSI', 'MACD']));
  const [live, setLive] = useState<Quote | undefined>(undefined);
  const [picked, setPicked] = useState<string | undefined>(undefined);
  const [liveNews, setLiveNews] = useState<NewsItem[]>([]);
  const chart = useRef<CandleChartHandle | null>(null);
  const enc = encodeURIComponent(symbol);
  const quote = useLoad(() => api<{ items: Quote[]; not_found: string[] }>('/v1/market/quotes', { query: { symbols: symbol } }), [symbol]);
  const candles = useLoad(() => api<{ items: Candle[] }>(`/v1/market/candles/${enc}`, { query: { interval: '1d', limit: '250' } }), [symbol]);
  const ind = useLoad(
    () => api<Indicators>(`/v1/market/indicators/${enc}`, { query: { interval: '1d', limit: '250', indicators: `sma:${period},ema:${period},bbands:20:2,rsi:14,macd:12:26:9` } }),
    [symbol, period],
  );
  const news = useLoad(() => api<{ items: NewsItem[] }>('/v1/news', { query: { symbols: symbol, limit: '10' } }), [symbol]);
  const [message, setMessage] = useState<string | undefined>(undefined);

  useLive([`quotes:${symbol}`, `candles:${symbol}:1d`, `news:${symbol}`], (m: LiveMessage) => {
    if (m.type === 'quote') setLive({ symbol, price: String(m.price), previous_close: (m.previous_close as string | null) ?? null, as_of: String(m.as_of), stale: false, source: String(m.source) });
    if (m.type === 'candle') chart.current?.update(m as unknown as Candle);
    if (m.type === 'news') setLiveNews((list) => [m as unknown as NewsItem, ...list].slice(0, 20));
  });

  const q = live ?? quote.data?.items[0];
  const c = candles.data?.items ?? [];
  const values = useMemo(() => new Map((ind.data?.items ?? []).map((i) => [i.ts, i.values])), [ind.data]);
  const overlays = useMemo(() => {
    const cols = ind.data?.columns ?? [];
    const find = (prefix: string) => cols.filter((col) => col.startsWith(prefix));
    const out: Overlay[] = [];
    const add = (prefix: string, pane: number, kind?: 'histogram') => find(prefix).forEach((col) => out.push({ column: col, label: col.toUpperCase(), pane, ...(kind ? { kind } : {}) }));
    if (shown.has('SMA')) add('sma_', 0);
    if (shown.has('EMA')) add('ema_', 0);
    if (shown.has('Bollinger')) add('bb_', 0);
    let pane = 1;
    if (shown.has('RSI') && find('rsi_').length > 0) add('rsi_', pane++);
    if (shown.has('MACD') && find('macd_').length > 0) {
      add('macd_hist_', pane, 'histogram');
      add('macd_signal_', pane);
      find('macd_')
        .filter((col) => !col.startsWith('macd_hist_') && !col.startsWith('macd_signal_'))
        .forEach((col) => out.push({ column: col, label: col.toUpperCase(), pane }));
    }
    return out;
  }, [ind.data, shown]);

  const watch = async () => {
    try {
      await api(`/v1/me/watchlist/${enc}`, { method: 'PUT' });
      setMessage(`${symbol} is on your watchlist.`);
    } catch (e) {
      setMessage(errorText(e));
    }
  };
  const toggle = (t: Toggle) => {
    const next = new Set(shown);
    if (next.has(t)) next.delete(t);
    else next.add(t);
    setShown(next);
  };
  return (
    <main id="main">
      <h1>{symbol}</h1>
      <ErrorBox message={quote.error ?? candles.error ?? ind.error} />
      <Section title="Latest quote">
        {q === undefined ? (
          <p>{quote.data !== undefined ? 'No price for this symbol.' : 'Loading…'}</p>
        ) : (
          <p class="big" aria-live="polite">
            <span data-testid="quote-price" data-live={live !== undefined ? 'true' : 'false'}>
              {formatDecimal(q.price)}
            </span>{' '}
            <span class="muted" data-testid="quote-as-of">
              as of {new Date(q.as_of).toLocaleString()} ({q.source})
            </span>
            {q.stale && <span class="badge"> stale</span>}
          </p>
        )}
        <LiveBadge />
        <button type="button" onClick={() => void watch()}>
          Add to watchlist
        </button>
        {message !== undefined && <p role="status">{message}</p>}
      </Section>
      <Section title="Daily candles">
        <div class="toolbar">
          <label>
            SMA/EMA period
            <select value={period} onChange={(e) => setPeriod(e.currentTarget.value)}>
              {['10', '20', '50'].map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <fieldset class="segmented">
            <legend>Show</legend>
            {TOGGLES.map((t) => (
              <label key={t} class="check">
                <input type="checkbox" checked={shown.has(t)} onChange={() => toggle(t)} /> {t}
              </label>
            ))}
          </fieldset>
        </div>
        {c.length > 0 && <CandleChart label={`${symbol} daily candles with indicators`} candles={c} overlays={overlays} values={values} onPickPrice={setPicked} handle={chart} />}
        {candles.data !== undefined && c.length === 0 && <p>No candles for this symbol yet.</p>}
        <h3>Add alert</h3>
        <p class="muted">Click the chart to use that price as the threshold.</p>
        <AlertForm symbol={symbol} {...(picked === undefined ? {} : { threshold: picked })} onCreated={() => undefined} />
      </Section>
      <Section title="News">
        <ErrorBox message={news.error} />
        <NewsList items={[...liveNews, ...(news.data?.items ?? [])]} />
      </Section>
    </main>
  );
}
