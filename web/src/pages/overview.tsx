// Overview, the first page: totals per base currency with the day's change, the value chart
// of one portfolio with its range selector and TWR/XIRR, allocation by holding and by
// currency, top holdings.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Donut, LineChart } from '../charts.tsx';
import { formatMoney, formatPercent, formatRate, isNegative, sumDecimals } from '../format.ts';
import type { Dashboard, DashboardTotal, Holdings, Performance, Portfolio } from '../types.ts';
import { useLive } from '../live.ts';
import { ErrorBox, LiveBadge, Section, errorText, TableHead, useLoad } from '../ui.tsx';

const RANGES = [
  { value: '1m', label: '1M' },
  { value: '3m', label: '3M' },
  { value: 'ytd', label: 'YTD' },
  { value: '1y', label: '1Y' },
  { value: 'max', label: 'Max' },
] as const;

function NewPortfolio({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [currency, setCurrency] = useState('USD');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api('/v1/portfolios', { method: 'POST', body: { name, base_currency: currency.toUpperCase() } });
      setName('');
      setError(undefined);
      onCreated();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <form class="inline" onSubmit={(e) => void submit(e)} aria-label="New portfolio">
      <label>
        Portfolio name
        <input name="portfolio-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Base currency
        <input name="base-currency" required pattern="[A-Za-z]{3}" size={4} value={currency} onInput={(e) => setCurrency(e.currentTarget.value)} />
      </label>
      <button type="submit">Create portfolio</button>
      <ErrorBox message={error} />
    </form>
  );
}

function PerformancePanel({ portfolios }: { portfolios: Portfolio[] }) {
  const [id, setId] = useState(portfolios[0]?.id ?? '');
  const [range, setRange] = useState<string>('1y');
  const perf = useLoad(() => api<Performance>(`/v1/portfolios/${id}/performance`, { query: { range } }), [id, range]);
  const p = perf.data;
  return (
    <Section title="Value and performance">
      <div class="toolbar">
        <label>
          Portfolio
          <select value={id} onChange={(e) => setId(e.currentTarget.value)}>
            {portfolios.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
              </option>
            ))}
          </select>
        </label>
        <div role="group" aria-label="Range" class="segmented">
          {RANGES.map((r) => (
            <button key={r.value} type="button" aria-pressed={range === r.value} onClick={() => setRange(r.value)}>
              {r.label}
            </button>
          ))}
        </div>
      </div>
      <ErrorBox message={perf.error} />
      {p !== undefined && (
        <>
          <dl class="stats">
            <div>
              <dt>Value</dt>
              <dd>{formatMoney(p.end_value, p.base_currency)}</dd>
            </div>
            <div>
              <dt>Gain</dt>
              <dd class={isNegative(p.total_gain) ? 'neg' : 'pos'}>{formatMoney(p.total_gain, p.base_currency)}</dd>
            </div>
            <div>
              <dt>TWR</dt>
              <dd>{formatRate(p.time_weighted_return)}</dd>
            </div>
            <div>
              <dt>XIRR</dt>
              <dd>{p.money_weighted_return.status === 'ok' ? formatRate(p.money_weighted_return.rate) : 'n/a'}</dd>
            </div>
          </dl>
          <LineChart
            label={`Portfolio value from ${p.from} to ${p.to}`}
            times={p.series.map((s) => Date.parse(`${s.date}T00:00:00Z`) / 1000)}
            series={[
              { label: `Value (${p.base_currency})`, values: p.series.map((s) => s.value) },
              { label: 'Net contributions', values: p.series.map((s) => s.net_contributions) },
            ]}
          />
        </>
      )}
    </Section>
  );
}

/** The priced holdings' weights summed per currency, exactly (weights are percent strings). */
export function currencyAllocation(holdings: Holdings | undefined): Array<{ label: string; percent: string }> {
  const groups = new Map<string, string[]>();
  for (const h of holdings?.items ?? []) {
    if (h.weight === null) continue;
    const currency = h.currency ?? holdings?.base_currency ?? '?';
    groups.set(currency, [...(groups.get(currency) ?? []), h.weight]);
  }
  return [...groups].map(([label, weights]) => ({ label, percent: sumDecimals(weights) })).sort((a, b) => a.label.localeCompare(b.label));
}

/** A portfolio's figures as its live channel last sent them. */
interface LiveValue {
  total_value: string;
  unrealized_pnl: string;
  cash: string;
  currency: string;
}

/**
 * A currency's totals summed exactly from its portfolios' live figures, once every portfolio
 * the dashboard counted in that currency is on the page and has sent them (each channel sends
 * its figures on subscribe); until then the dashboard's figures stand, so a total is never a
 * sum over part of the portfolios. The day's change is not on the channel: it stays as loaded.
 */
function liveTotals(total: DashboardTotal, portfolios: readonly Portfolio[], live: Record<string, LiveValue>): Omit<LiveValue, 'currency'> | undefined {
  const own = portfolios.filter((p) => p.base_currency === total.currency).map((p) => live[p.id]);
  if (own.length === 0 || own.length !== total.portfolios || own.some((v) => v === undefined)) return undefined;
  const values = own as LiveValue[];
  return {
    total_value: sumDecimals(values.map((v) => v.total_value), { keepScale: true }),
    unrealized_pnl: sumDecimals(values.map((v) => v.unrealized_pnl), { keepScale: true }),
    cash: sumDecimals(values.map((v) => v.cash), { keepScale: true }),
  };
}

export function OverviewPage() {
  const dash = useLoad(() => api<Dashboard>('/v1/dashboard', { query: { limit: '200' } }), []);
  const list = useLoad(() => api<{ items: Portfolio[] }>('/v1/portfolios'), []);
  const portfolios = list.data?.items ?? [];
  const d = dash.data;
  const first = portfolios[0];
  // Each portfolio's value as it moves: the `portfolio:<id>` channel sends the holdings body
  // on subscribe and after quotes of held symbols (throttled by the server).
  const [live, setLive] = useState<Record<string, LiveValue>>({});
  useLive(
    portfolios.map((p) => `portfolio:${p.id}`),
    (m) => {
      if (m.type !== 'portfolio' || m.channel === undefined) return;
      const body = m as unknown as { base_currency: string; totals: Omit<LiveValue, 'currency'> };
      const pid = m.channel.slice('portfolio:'.length);
      const { total_value, unrealized_pnl, cash } = body.totals;
      setLive((l) => ({ ...l, [pid]: { total_value, unrealized_pnl, cash, currency: body.base_currency } }));
    },
  );
  const allocation = d?.items.filter((i) => i.portfolio_id === first?.id && i.weight !== null) ?? [];
  const holdings = useLoad(() => (first === undefined ? Promise.resolve(undefined) : api<Holdings>(`/v1/portfolios/${first.id}/holdings`)), [first?.id]);
  const byCurrency = currencyAllocation(holdings.data);
  return (
    <main id="main">
      <h1>Overview</h1>
      <ErrorBox message={dash.error ?? list.error} />
      {d !== undefined && (
        <div class="totals">
          {d.totals.length === 0 && <p>No holdings yet. Create a portfolio and add a transaction.</p>}
          {d.totals.map((t) => {
            const now = liveTotals(t, portfolios, live);
            return (
              <section key={t.currency} class="card total" aria-label={`Total in ${t.currency}`}>
                <h2>Total value ({t.currency})</h2>
                <p class="big" data-testid={`total-${t.currency}`} data-live={now !== undefined ? 'true' : 'false'}>
                  {formatMoney(now?.total_value ?? t.total_value, t.currency)}
                  {now !== undefined && <span class="badge"> live</span>}
                </p>
                <p>
                  Day change{now !== undefined && ' (when the page loaded)'}:{' '}
                  <span class={isNegative(t.day_change) ? 'neg' : 'pos'}>{formatMoney(t.day_change, t.currency)}</span>
                  {t.stale && <span class="badge"> stale prices</span>}
                </p>
                <p class="muted">
                  Unrealised P&amp;L {formatMoney(now?.unrealized_pnl ?? t.unrealized_pnl, t.currency)} · cash {formatMoney(now?.cash ?? t.cash, t.currency)}
                </p>
              </section>
            );
          })}
        </div>
      )}
      <Section title="Portfolios">
        <LiveBadge />
        <ul>
          {portfolios.map((p) => (
            <li key={p.id}>
              <a href={`/portfolios/${p.id}`}>{p.name}</a> ({p.base_currency})
              {live[p.id] !== undefined && (
                <>
                  {' '}
                  · live value{' '}
                  <strong data-testid={`live-value-${p.id}`}>{formatMoney(live[p.id]!.total_value, live[p.id]!.currency)}</strong>
                </>
              )}
            </li>
          ))}
        </ul>
        <NewPortfolio
          onCreated={() => {
            list.reload();
            dash.reload();
          }}
        />
      </Section>
      {first !== undefined && <PerformancePanel portfolios={portfolios} />}
      {allocation.length > 0 && first !== undefined && (
        <Section title={`Allocation of ${first.name}`}>
          <Donut label={`Allocation by holding of ${first.name}`} slices={allocation.map((i) => ({ label: i.symbol, percent: i.weight ?? '0' }))} />
          {byCurrency.length > 0 && <Donut label={`Allocation by currency of ${first.name}`} slices={byCurrency} />}
        </Section>
      )}
      {d !== undefined && d.items.length > 0 && (
        <Section title="Top holdings">
          <table>
            <TableHead columns={['Symbol', 'Portfolio', { label: 'Market value', num: true }, { label: 'Day change', num: true }, { label: 'Weight', num: true }]} />
            <tbody>
              {d.items.slice(0, 10).map((i) => (
                <tr key={`${i.portfolio_id}-${i.symbol}`}>
                  <td>
                    <a href={`/symbols/${encodeURIComponent(i.symbol)}`}>{i.symbol}</a>
                  </td>
                  <td>{i.portfolio_name}</td>
                  <td class="num">{formatMoney(i.market_value, i.base_currency)}</td>
                  <td class={`num ${isNegative(i.day_change) ? 'neg' : 'pos'}`}>{formatMoney(i.day_change, i.base_currency)}</td>
                  <td class="num">{formatPercent(i.weight)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </main>
  );
}
