// Watchlist with each symbol's latest price and change from the previous close.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { changeFrom, formatDecimal, formatPercent, isNegative } from '../format.ts';
import { navigate } from '../router.ts';
import type { Quote } from '../types.ts';
import { useLive } from '../live.ts';
import { ErrorBox, errorText, LiveBadge, Section, submitted, TableHead, useLoad } from '../ui.tsx';

export function WatchlistPage() {
  const list = useLoad(async () => {
    const w = await api<{ items: Array<{ symbol: string }>; limit: number }>('/v1/me/watchlist');
    const symbols = w.items.map((i) => i.symbol);
    const quotes = symbols.length === 0 ? [] : (await api<{ items: Quote[] }>('/v1/market/quotes', { query: { symbols: symbols.join(',') } })).items;
    return { symbols, limit: w.limit, quotes: new Map(quotes.map((q) => [q.symbol, q])) };
  }, []);
  const [symbol, setSymbol] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const change = async (method: 'PUT' | 'DELETE', s: string) => {
    try {
      await api(`/v1/me/watchlist/${encodeURIComponent(s)}`, { method });
      setError(undefined);
      setSymbol('');
      list.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const d = list.data;
  // Live prices: each symbol's `quotes:` channel replaces its fetched quote.
  const [live, setLive] = useState<Record<string, Quote>>({});
  useLive(
    (d?.symbols ?? []).map((s) => `quotes:${s}`),
    (m) => {
      if (m.type !== 'quote') return;
      const q = m as unknown as Quote;
      // A streamed trade may carry no previous close: keep the one already known.
      setLive((l) => ({ ...l, [q.symbol]: { ...q, previous_close: q.previous_close ?? l[q.symbol]?.previous_close ?? d?.quotes.get(q.symbol)?.previous_close ?? null, stale: false } }));
    },
  );
  return (
    <main id="main">
      <h1>Watchlist</h1>
      <ErrorBox message={list.error ?? error} />
      <Section title="Symbols">
        <form
          class="inline"
          aria-label="Add to watchlist"
          onSubmit={submitted(() => change('PUT', symbol.trim()))}
        >
          <label>
            Symbol
            <input name="symbol" required maxLength={15} value={symbol} onInput={(e) => setSymbol(e.currentTarget.value.toUpperCase())} />
          </label>
          <button type="submit">Add</button>
        </form>
        {d !== undefined && (
          <>
            <p class="muted">
              {d.symbols.length} of {d.limit} symbols <LiveBadge />
            </p>
            <table>
              <TableHead columns={['Symbol', { label: 'Price', num: true }, { label: 'Previous close', num: true }, { label: 'Day change', num: true }, { label: 'Actions', hidden: true }]} />
              <tbody>
                {d.symbols.map((s) => {
                  const q = live[s] ?? d.quotes.get(s);
                  return (
                    <tr key={s}>
                      <td>
                        <a href={`/symbols/${encodeURIComponent(s)}`} onClick={(e) => (e.preventDefault(), navigate(`/symbols/${encodeURIComponent(s)}`))}>
                          {s}
                        </a>
                      </td>
                      <td class="num" data-field="price" data-live={live[s] !== undefined ? 'true' : 'false'}>
                        {formatDecimal(q?.price ?? null)}
                      </td>
                      <td class="num" data-field="previous_close">
                        {formatDecimal(q?.previous_close ?? null)}
                      </td>
                      <DayChange price={q?.price} previous={q?.previous_close ?? undefined} />
                      <td>
                        <button type="button" class="danger" aria-label={`Remove ${s}`} onClick={() => void change('DELETE', s)}>
                          Remove
                        </button>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </>
        )}
      </Section>
    </main>
  );
}

/** Price minus previous close and its percentage, by exact string arithmetic (format.ts). */
function DayChange({ price, previous }: { price: string | undefined; previous: string | undefined }) {
  const c = price === undefined || previous === undefined ? undefined : changeFrom(price, previous);
  if (c === undefined)
    return (
      <td class="num" data-field="day_change">
        —
      </td>
    );
  return (
    <td class={`num ${isNegative(c.change) ? 'neg' : 'pos'}`} data-field="day_change">
      {formatDecimal(c.change)}
      {c.percent !== undefined && <> ({formatPercent(c.percent)})</>}
    </td>
  );
}
