// Portfolio: holdings (sortable, lots and realised P&L), transactions (add, edit, delete), CSV
// import with a column-mapping step and a dry-run preview of row errors before committing,
// and the JSON export.
// Decimal inputs stay strings: they are checked against the API's grammar, never parsed.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { UNSIGNED_DECIMAL, formatDecimal, formatMoney, formatPercent, isNegative } from '../format.ts';
import { ShowMore, usePaged } from '../paged.tsx';
import type { Holding, Holdings, ImportResult, Portfolio, Transaction } from '../types.ts';
import { ErrorBox, errorText, Section, submitted, TableHead, useLoad } from '../ui.tsx';

/** Order of two decimal strings without converting them to numbers. */
export function compareDecimal(a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const neg = (s: string) => s.startsWith('-');
  if (neg(a) !== neg(b)) return neg(a) ? -1 : 1;
  const sign = neg(a) ? -1 : 1;
  const [ai = '', af = ''] = a.replace('-', '').split('.');
  const [bi = '', bf = ''] = b.replace('-', '').split('.');
  const ia = ai.replace(/^0+/, '');
  const ib = bi.replace(/^0+/, '');
  if (ia.length !== ib.length) return sign * (ia.length - ib.length);
  const len = Math.max(af.length, bf.length);
  const x = ia + af.padEnd(len, '0');
  const y = ib + bf.padEnd(len, '0');
  return x === y ? 0 : sign * (x < y ? -1 : 1);
}

const SORTS = {
  symbol: (a: Holding, b: Holding) => a.symbol.localeCompare(b.symbol),
  market_value: (a: Holding, b: Holding) => compareDecimal(a.market_value, b.market_value),
  unrealized_pnl: (a: Holding, b: Holding) => compareDecimal(a.unrealized_pnl, b.unrealized_pnl),
  weight: (a: Holding, b: Holding) => compareDecimal(a.weight, b.weight),
} as const;
type SortKey = keyof typeof SORTS;
const SORT_LABELS: Record<SortKey, string> = { symbol: 'Symbol', market_value: 'Market value', unrealized_pnl: 'Unrealised P&L', weight: 'Weight' };

function HoldingsTable({ holdings }: { holdings: Holdings }) {
  const [sort, setSort] = useState<SortKey>('market_value');
  const [desc, setDesc] = useState(true);
  const rows = useMemo(() => {
    const sorted = [...holdings.items].sort(SORTS[sort]);
    return desc ? sorted.reverse() : sorted;
  }, [holdings, sort, desc]);
  const cur = holdings.base_currency;
  const header = (key: SortKey, numeric = true) => (
    <th scope="col" class={numeric ? 'num' : ''} aria-sort={sort === key ? (desc ? 'descending' : 'ascending') : 'none'}>
      <button
        type="button"
        class="link"
        onClick={() => {
          if (sort === key) setDesc(!desc);
          else {
            setSort(key);
            setDesc(key !== 'symbol');
          }
        }}
      >
        {SORT_LABELS[key]}
      </button>
    </th>
  );
  return (
    <>
      <dl class="stats">
        <div>
          <dt>Total value</dt>
          <dd data-testid="holdings-total">{formatMoney(holdings.totals.total_value, cur)}</dd>
        </div>
        <div>
          <dt>Market value</dt>
          <dd>{formatMoney(holdings.totals.market_value, cur)}</dd>
        </div>
        <div>
          <dt>Cash</dt>
          <dd>{formatMoney(holdings.totals.cash, cur)}</dd>
        </div>
        <div>
          <dt>Realised P&amp;L</dt>
          <dd>{formatMoney(holdings.totals.realized_pnl, cur)}</dd>
        </div>
      </dl>
      <table data-testid="holdings">
        <thead>
          <tr>
            {header('symbol', false)}
            <th scope="col" class="num">
              Quantity
            </th>
            <th scope="col" class="num">
              Price
            </th>
            {header('market_value')}
            {header('unrealized_pnl')}
            <th scope="col" class="num">
              Realised P&amp;L
            </th>
            {header('weight')}
          </tr>
        </thead>
        <tbody>
          {rows.map((h) => (
            <tr key={h.symbol} data-symbol={h.symbol}>
              <td>
                <a href={`/symbols/${encodeURIComponent(h.symbol)}`}>{h.symbol}</a>
                <details>
                  <summary>{h.lots.length} lots</summary>
                  <ul>
                    {h.lots.map((l) => (
                      <li key={l.transaction_id}>
                        {l.acquired_at.slice(0, 10)}: {formatDecimal(l.quantity)} @ {formatMoney(l.unit_cost, cur)}
                      </li>
                    ))}
                  </ul>
                </details>
              </td>
              <td class="num">{formatDecimal(h.quantity)}</td>
              <td class="num">
                {formatMoney(h.price, h.currency)}
                {h.stale && <span class="badge"> stale</span>}
              </td>
              <td class="num" data-field="market_value">
                {formatMoney(h.market_value, cur)}
              </td>
              <td class={`num ${isNegative(h.unrealized_pnl) ? 'neg' : 'pos'}`}>{formatMoney(h.unrealized_pnl, cur)}</td>
              <td class="num">{formatMoney(h.realized_pnl, cur)}</td>
              <td class="num">{formatPercent(h.weight)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

const TYPES = ['buy', 'sell', 'dividend', 'interest', 'fee', 'deposit', 'withdrawal'] as const;

function TransactionForm({ portfolio, onSaved }: { portfolio: Portfolio; onSaved: () => void }) {
  const [type, setType] = useState<(typeof TYPES)[number]>('buy');
  const [symbol, setSymbol] = useState('');
  const [quantity, setQuantity] = useState('');
  const [price, setPrice] = useState('');
  const [amount, setAmount] = useState('');
  const [fee, setFee] = useState('0');
  const [date, setDate] = useState(() => new Date().toISOString().slice(0, 10));
  const [error, setError] = useState<string | undefined>(undefined);
  const trade = type === 'buy' || type === 'sell';
  const needsSymbol = trade || type === 'dividend';

  const submit = async (event: Event) => {
    event.preventDefault();
    const bad = [
      ['Quantity', quantity, trade],
      ['Price', price, trade],
      ['Amount', amount, !trade],
      ['Fee', fee, true],
    ].find(([, v, used]) => used === true && !UNSIGNED_DECIMAL.test(v as string));
    if (bad !== undefined) {
      setError(`${bad[0] as string} must be a decimal number such as 12.5 (digits and one point).`);
      return;
    }
    const body: Record<string, string> = { type, executed_at: date, fee, currency: portfolio.base_currency };
    if (needsSymbol) body.symbol = symbol.trim();
    if (trade) {
      body.quantity = quantity;
      body.price = price;
    } else body.amount = amount;
    try {
      await api(`/v1/portfolios/${portfolio.id}/transactions`, { method: 'POST', body });
      setError(undefined);
      setQuantity('');
      setPrice('');
      setAmount('');
      onSaved();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const decimalInput = (label: string, name: string, value: string, set: (v: string) => void) => (
    <label>
      {label}
      <input name={name} inputMode="decimal" autocomplete="off" required value={value} onInput={(e) => set(e.currentTarget.value.trim())} />
    </label>
  );
  return (
    <form class="inline" onSubmit={(e) => void submit(e)} aria-label="Add transaction">
      <label>
        Type
        <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value as (typeof TYPES)[number])}>
          {TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      {needsSymbol && (
        <label>
          Symbol
          <input name="symbol" required maxLength={15} value={symbol} onInput={(e) => setSymbol(e.currentTarget.value.toUpperCase())} />
        </label>
      )}
      {trade && decimalInput('Quantity', 'quantity', quantity, setQuantity)}
      {trade && decimalInput(`Price (${portfolio.base_currency})`, 'price', price, setPrice)}
      {!trade && decimalInput(`Amount (${portfolio.base_currency})`, 'amount', amount, setAmount)}
      {decimalInput('Fee', 'fee', fee, setFee)}
      <label>
        Date
        <input type="date" name="date" required value={date} onInput={(e) => setDate(e.currentTarget.value)} />
      </label>
      <button type="submit">Add transaction</button>
      <ErrorBox message={error} />
    </form>
  );
}

/** The import's fields with the header aliases the server matches (docs/portfolios.md). */
const IMPORT_FIELDS: Array<{ field: string; label: string; aliases: string[] }> = [
  { field: 'executed_at', label: 'Date', aliases: ['date', 'tradedate', 'executedat', 'datetime'] },
  { field: 'type', label: 'Type', aliases: ['type', 'action'] },
  { field: 'symbol', label: 'Symbol', aliases: ['symbol', 'ticker', 'code'] },
  { field: 'quantity', label: 'Quantity', aliases: ['quantity', 'qty', 'shares', 'units'] },
  { field: 'price', label: 'Price', aliases: ['price', 'unitprice', 'tradeprice'] },
  { field: 'amount', label: 'Amount', aliases: ['amount', 'value', 'total'] },
  { field: 'fee', label: 'Fee', aliases: ['fee', 'fees', 'commission'] },
  { field: 'currency', label: 'Currency', aliases: ['currency', 'ccy'] },
  { field: 'fx_rate', label: 'FX rate', aliases: ['fxrate', 'exchangerate'] },
  { field: 'note', label: 'Note', aliases: ['note', 'notes', 'comment'] },
  { field: 'ratio', label: 'Split ratio', aliases: ['ratio'] },
];
const IGNORE = '';

/** The header row's cells (RFC 4180 quoting) and where the header line ends. */
export function splitHeader(csv: string): { cells: string[]; end: number } {
  const text = csv.startsWith('\uFEFF') ? csv.slice(1) : csv;
  const offset = csv.length - text.length;
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  let i = 0;
  for (; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') break;
    else cell += ch;
  }
  cells.push(cell);
  return { cells, end: offset + i };
}

function guessField(header: string): string {
  const key = header.toLowerCase().replace(/[\s_-]/g, '');
  return IMPORT_FIELDS.find((f) => f.aliases.includes(key))?.field ?? IGNORE;
}

const ignoredName = (index: number) => `ignored_column_${index + 1}`;

/**
 * The CSV with its header row replaced by the chosen field names, and the names given to
 * the columns the user chose to ignore: the server refuses a column it cannot place
 * unless the request names it as ignored, so none is dropped unnoticed.
 */
export function remapHeader(csv: string, mapping: string[]): { body: string; ignore: string[] } {
  const { end } = splitHeader(csv);
  const header = mapping.map((f, i) => (f === IGNORE ? ignoredName(i) : f)).join(',');
  const ignore = mapping.flatMap((f, i) => (f === IGNORE ? [ignoredName(i)] : []));
  return { body: header + csv.slice(end), ignore };
}

function CsvImport({ portfolio, onImported }: { portfolio: Portfolio; onImported: () => void }) {
  const [csv, setCsv] = useState('');
  const [mapping, setMapping] = useState<string[] | undefined>(undefined);
  const headers = csv === '' ? [] : splitHeader(csv).cells;
  const headerKey = headers.join('\u0000');
  useEffect(() => {
    setMapping(headers.length === 0 ? undefined : headers.map(guessField));
    setPreview(undefined);
  }, [headerKey]);
  const mapped = mapping !== undefined && mapping.length === headers.length ? mapping : headers.map(guessField);
  const duplicate = mapped.find((f, i) => f !== IGNORE && mapped.indexOf(f) !== i);
  const [preview, setPreview] = useState<ImportResult | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async (dryRun: boolean) => {
    setError(undefined);
    setMessage(undefined);
    try {
      const { body, ignore } = remapHeader(csv, mapped);
      const result = await api<ImportResult>(`/v1/portfolios/${portfolio.id}/transactions/import`, {
        method: 'POST',
        raw: { body, type: 'text/csv' },
        query: { dryRun: dryRun ? 'true' : undefined, ignore },
      });
      if (dryRun) setPreview(result);
      else {
        setPreview(undefined);
        setMessage(`Imported ${result.imported} transactions (${result.duplicates} duplicates skipped).`);
        onImported();
      }
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <Section title="Import CSV">
      <label>
        CSV file
        <input
          type="file"
          accept=".csv,text/csv"
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file !== undefined) void file.text().then((t) => setCsv(t));
          }}
        />
      </label>
      <label>
        CSV text (header row first: date, type, symbol, quantity, price, amount, fee, currency)
        <textarea name="csv" rows={6} value={csv} onInput={(e) => setCsv(e.currentTarget.value)} />
      </label>
      {headers.length > 0 && (
        <fieldset class="mapping" data-testid="column-mapping">
          <legend>Columns: what each column of your file holds</legend>
          {headers.map((h, i) => (
            <label key={`${i}-${h}`}>
              Column {i + 1} “{h}”
              <select
                value={mapped[i]}
                onChange={(e) => {
                  const next = [...mapped];
                  next[i] = e.currentTarget.value;
                  setMapping(next);
                  setPreview(undefined);
                }}
              >
                <option value={IGNORE}>(ignore)</option>
                {IMPORT_FIELDS.map((f) => (
                  <option key={f.field} value={f.field}>
                    {f.label}
                  </option>
                ))}
              </select>
            </label>
          ))}
          {duplicate !== undefined && (
            <p class="error" role="alert">
              Two columns are mapped to {IMPORT_FIELDS.find((f) => f.field === duplicate)?.label ?? duplicate}.
            </p>
          )}
        </fieldset>
      )}
      <button type="button" onClick={() => void run(true)} disabled={csv === '' || duplicate !== undefined}>
        Check (dry run)
      </button>
      <ErrorBox message={error} />
      {message !== undefined && <p role="status">{message}</p>}
      {preview !== undefined && (
        <div data-testid="import-preview">
          <p role="status">
            {preview.rows} rows: {preview.would_import} to import, {preview.duplicates} duplicates, {preview.errors.length} errors.
          </p>
          {preview.errors.length > 0 && (
            <table aria-label="Rows with errors">
              <TableHead columns={['Line', 'Field', 'Problem']} />
              <tbody>
                {preview.errors.map((e) => (
                  <tr key={`${e.row}-${e.field}`} class="row-error">
                    <td>{e.row}</td>
                    <td>{e.field}</td>
                    <td>{e.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <button type="button" disabled={!preview.valid} onClick={() => void run(false)}>
            Import {preview.would_import} transactions
          </button>
        </div>
      )}
    </Section>
  );
}

/** Edits one transaction with PATCH: only the fields the user changed are sent, as strings. */
function EditTransaction({ portfolioId, tx, onDone }: { portfolioId: string; tx: Transaction; onDone: () => void }) {
  const trade = tx.quantity !== null && tx.price !== null;
  const [quantity, setQuantity] = useState(tx.quantity ?? '');
  const [price, setPrice] = useState(tx.price ?? '');
  const [amount, setAmount] = useState(tx.amount ?? '');
  const [fee, setFee] = useState(tx.fee);
  const [date, setDate] = useState(tx.executed_at.slice(0, 10));
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async () => {
    const fields: Array<[string, string, string | null]> = trade
      ? [
          ['quantity', quantity, tx.quantity],
          ['price', price, tx.price],
        ]
      : [['amount', amount, tx.amount]];
    fields.push(['fee', fee, tx.fee]);
    const body: Record<string, string> = {};
    for (const [name, value, old] of fields) {
      if (value === old) continue;
      if (!UNSIGNED_DECIMAL.test(value)) return setError(`${name[0]!.toUpperCase()}${name.slice(1)} must be a decimal number such as 12.5 (digits and one point).`);
      body[name] = value;
    }
    if (date !== tx.executed_at.slice(0, 10)) body.executed_at = date;
    if (Object.keys(body).length === 0) return onDone();
    try {
      await api(`/v1/portfolios/${portfolioId}/transactions/${tx.id}`, { method: 'PATCH', body });
      onDone();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const field = (label: string, name: string, value: string, set: (v: string) => void) => (
    <label>
      {label}
      <input name={name} inputMode="decimal" autocomplete="off" required value={value} onInput={(e) => set(e.currentTarget.value.trim())} />
    </label>
  );
  return (
    <form
      class="inline"
      aria-label="Edit transaction"
      onSubmit={submitted(submit)}
    >
      {trade && field('Quantity', 'quantity', quantity, setQuantity)}
      {trade && field(`Price (${tx.currency})`, 'price', price, setPrice)}
      {!trade && field(`Amount (${tx.currency})`, 'amount', amount, setAmount)}
      {field('Fee', 'fee', fee, setFee)}
      <label>
        Date
        <input type="date" name="date" required value={date} onInput={(e) => setDate(e.currentTarget.value)} />
      </label>
      <button type="submit">Save changes</button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      <ErrorBox message={error} />
    </form>
  );
}

async function downloadExport(setError: (e: string | undefined) => void) {
  try {
    const doc = await api<unknown>('/v1/export');
    const url = URL.createObjectURL(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'financehub-export.json';
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (e) {
    setError(errorText(e));
  }
}

export function PortfolioPage({ id }: { id: string }) {
  const portfolio = useLoad(() => api<Portfolio>(`/v1/portfolios/${id}`), [id]);
  const holdings = useLoad(() => api<Holdings>(`/v1/portfolios/${id}/holdings`), [id]);
  const txs = usePaged<Transaction>(`/v1/portfolios/${id}/transactions`, { limit: '100' }, [id]);
  const [error, setError] = useState<string | undefined>(undefined);
  const [editing, setEditing] = useState<string | undefined>(undefined);
  const reload = () => {
    holdings.reload();
    txs.reload();
  };
  const p = portfolio.data;
  const remove = async (txId: string) => {
    try {
      await api(`/v1/portfolios/${id}/transactions/${txId}`, { method: 'DELETE' });
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <main id="main">
      <h1>{p?.name ?? 'Portfolio'}</h1>
      <ErrorBox message={portfolio.error ?? holdings.error ?? txs.error ?? error} />
      {holdings.data !== undefined && (
        <Section title="Holdings">
          <HoldingsTable holdings={holdings.data} />
        </Section>
      )}
      {p !== undefined && (
        <Section title="Transactions">
          <TransactionForm portfolio={p} onSaved={reload} />
          <table data-testid="transactions">
            <TableHead columns={['Date', 'Type', 'Symbol', { label: 'Quantity', num: true }, { label: 'Price / amount', num: true }, { label: 'Fee', num: true }, { label: 'Actions', hidden: true }]} />
            <tbody>
              {(txs.items ?? []).map((t) => [
                <tr key={t.id} data-transaction={t.id}>
                  <td>{t.executed_at.slice(0, 10)}</td>
                  <td>{t.type}</td>
                  <td>{t.symbol ?? ''}</td>
                  <td class="num">{formatDecimal(t.quantity ?? null)}</td>
                  <td class="num">{formatMoney(t.price ?? t.amount, t.currency)}</td>
                  <td class="num">{formatMoney(t.fee, t.currency)}</td>
                  <td>
                    <button type="button" onClick={() => setEditing(editing === t.id ? undefined : t.id)} aria-expanded={editing === t.id} aria-label={`Edit ${t.type} ${t.symbol ?? ''} of ${t.executed_at.slice(0, 10)}`}>
                      Edit
                    </button>{' '}
                    <button type="button" class="danger" onClick={() => void remove(t.id)} aria-label={`Delete ${t.type} ${t.symbol ?? ''} of ${t.executed_at.slice(0, 10)}`}>
                      Delete
                    </button>
                  </td>
                </tr>,
                editing === t.id ? (
                  <tr key={`${t.id}-edit`}>
                    <td colSpan={7}>
                      <EditTransaction
                        portfolioId={id}
                        tx={t}
                        onDone={() => {
                          setEditing(undefined);
                          reload();
                        }}
                      />
                    </td>
                  </tr>
                ) : null,
              ])}
            </tbody>
          </table>
          <ShowMore paged={txs} label="Show more transactions" />
        </Section>
      )}
      {p !== undefined && <CsvImport portfolio={p} onImported={reload} />}
      <Section title="Export">
        <button type="button" onClick={() => void downloadExport(setError)}>
          Download everything (JSON)
        </button>
      </Section>
    </main>
  );
}
