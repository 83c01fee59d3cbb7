// Request and response schemas of the portfolios routes. Money travels as decimal
// strings: a JSON number in any money field fails validation with a 400 naming the
// field (FAIL-002), because body validation does not coerce types.
import { Type, type Static } from 'typebox';
import { DecimalString } from '../../money/index.ts';
import { CursorParam } from '../../platform/http/cursor.ts';
import { Text } from '../../platform/http/input.ts';
import { DateOrDateTime } from '../../platform/http/time-params.ts';
import { SYMBOL_INPUT_PATTERN } from '../market/symbols.ts';
import { DATE_FORMATS } from './import.formats.ts';
import { IMPORT_TARGETS, PRESET_NAMES } from './import.presets.ts';
import { TRANSACTION_TYPES, type TransactionType } from './portfolios.types.ts';
import { TRANSACTION_SORTS } from './transactions.list.ts';
import { MAX_NOTE_LENGTH, MAX_SPLIT_TERM } from './transactions.validation.ts';

const Uuid = () => Type.String({ format: 'uuid' });
const Timestamp = () => Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const CurrencyCode = () => Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. "USD"', examples: ['USD'] });

const PortfolioName = () => Text({ minLength: 1, maxLength: 100 });

export const PortfolioParams = Type.Object({ id: Uuid() }, { additionalProperties: false });
export const TransactionParams = Type.Object({ id: Uuid(), transactionId: Uuid() }, { additionalProperties: false });

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: '^[\\x21-\\x7E]+$',
      description: 'Client-chosen key (printable ASCII, ≤ 255): a repeat returns the first result and writes nothing',
    }),
  ),
});

export const PortfolioCreateBody = Type.Object(
  {
    name: PortfolioName(),
    base_currency: CurrencyCode(),
  },
  { additionalProperties: false },
);

export const PortfolioUpdateBody = Type.Object({ name: PortfolioName() }, { additionalProperties: false });

export const PortfolioOut = Type.Object({
  id: Uuid(),
  name: Type.String(),
  base_currency: Type.String(),
  created_at: Timestamp(),
  updated_at: Timestamp(),
}, { $id: 'Portfolio', description: 'A portfolio: a named set of transactions valued in its base currency.' });
export type PortfolioOut = Static<typeof PortfolioOut>;

export const PortfolioList = Type.Object(
  { items: Type.Array(PortfolioOut), next_cursor: Type.Null() },
  { $id: 'PortfolioList', description: 'All of the caller\'s portfolios on one page (`next_cursor` is always null).' },
);

const transactionFields = {
  type: Type.Union(
    [
      Type.Literal('buy'),
      Type.Literal('sell'),
      Type.Literal('dividend'),
      Type.Literal('interest'),
      Type.Literal('fee'),
      Type.Literal('split'),
      Type.Literal('deposit'),
      Type.Literal('withdrawal'),
    ],
    { description: `one of ${TRANSACTION_TYPES.join(', ')}` },
  ),
  symbol: Nullable(Type.String({ pattern: SYMBOL_INPUT_PATTERN, maxLength: 15, description: 'ticker, upper-cased on save' })),
  quantity: Nullable(DecimalString({ unsigned: true, description: 'shares (buy, sell), decimal string' })),
  price: Nullable(DecimalString({ unsigned: true, description: 'price per share in `currency` (buy, sell)' })),
  amount: Nullable(DecimalString({ unsigned: true, description: 'amount in `currency` (dividend, interest, fee, deposit, withdrawal)' })),
  fee: DecimalString({ unsigned: true, description: 'fee in `currency`; default "0"' }),
  currency: CurrencyCode(),
  fx_rate: Nullable(DecimalString({ unsigned: true, description: 'base-currency units per unit of `currency`; required when they differ' })),
  ratio_numerator: Nullable(Type.Integer({ minimum: 1, maximum: MAX_SPLIT_TERM, description: 'split: new shares per `ratio_denominator` old' })),
  ratio_denominator: Nullable(Type.Integer({ minimum: 1, maximum: MAX_SPLIT_TERM })),
  executed_at: Type.String({ description: 'ISO 8601 date-time with offset, or a date (00:00 UTC)', maxLength: 40 }),
  note: Nullable(Text({ maxLength: MAX_NOTE_LENGTH, multiline: true })),
};

/**
 * One complete, valid request body per transaction type, shown by /docs (each is also
 * sent to the real route by test/integration/platform/openapi-components.test.ts, in this
 * order, into one new USD portfolio: the sell needs the buy before it).
 */
export const TRANSACTION_EXAMPLES: Record<TransactionType, { summary: string; value: Record<string, unknown> }> = {
  buy: { summary: 'Buy 10 shares at 187.50 with a 1.00 fee', value: { type: 'buy', symbol: 'AAPL', quantity: '10', price: '187.50', fee: '1.00', currency: 'USD', executed_at: '2026-03-02T14:30:00Z' } },
  sell: { summary: 'Sell 4 of them at 201.10', value: { type: 'sell', symbol: 'AAPL', quantity: '4', price: '201.10', fee: '1.00', currency: 'USD', executed_at: '2026-05-04T15:00:00Z' } },
  dividend: { summary: 'A 2.40 cash dividend', value: { type: 'dividend', symbol: 'AAPL', amount: '2.40', currency: 'USD', executed_at: '2026-05-15' } },
  interest: { summary: 'Interest on cash', value: { type: 'interest', amount: '0.85', currency: 'USD', executed_at: '2026-05-31' } },
  fee: { summary: 'An account fee', value: { type: 'fee', amount: '5.00', currency: 'USD', executed_at: '2026-06-01', note: 'custody fee' } },
  split: { summary: 'A 4-for-1 split of the shares held', value: { type: 'split', symbol: 'AAPL', ratio_numerator: 4, ratio_denominator: 1, executed_at: '2026-06-10' } },
  deposit: { summary: 'Cash paid in', value: { type: 'deposit', amount: '1000.00', currency: 'USD', executed_at: '2026-01-05' } },
  withdrawal: { summary: 'Cash taken out', value: { type: 'withdrawal', amount: '250.00', currency: 'USD', executed_at: '2026-07-01' } },
};

/** POST and PUT: the whole transaction. Which fields a type needs is checked by the service. */
export const TransactionBody = Type.Object(
  {
    type: transactionFields.type,
    symbol: Type.Optional(transactionFields.symbol),
    quantity: Type.Optional(transactionFields.quantity),
    price: Type.Optional(transactionFields.price),
    amount: Type.Optional(transactionFields.amount),
    fee: Type.Optional(transactionFields.fee),
    currency: Type.Optional(transactionFields.currency),
    fx_rate: Type.Optional(transactionFields.fx_rate),
    ratio_numerator: Type.Optional(transactionFields.ratio_numerator),
    ratio_denominator: Type.Optional(transactionFields.ratio_denominator),
    executed_at: transactionFields.executed_at,
    note: Type.Optional(transactionFields.note),
  },
  {
    additionalProperties: false,
    description: 'A transaction; which fields a type needs is checked when it is saved (see the examples, one per type).',
    // Named examples of the request body in the OpenAPI document (media type `examples`).
    'x-examples': TRANSACTION_EXAMPLES,
  },
);
export type TransactionBody = Static<typeof TransactionBody>;

/** PATCH: any subset; `null` clears an optional field. The merged result is validated whole. */
export const TransactionPatchBody = Type.Partial(TransactionBody, { additionalProperties: false, minProperties: 1 });
export type TransactionPatchBody = Static<typeof TransactionPatchBody>;

export const TransactionOut = Type.Object({
  id: Uuid(),
  portfolio_id: Uuid(),
  type: transactionFields.type,
  symbol: Nullable(Type.String()),
  quantity: Nullable(Type.String()),
  price: Nullable(Type.String()),
  amount: Nullable(Type.String()),
  fee: Type.String(),
  currency: Type.String(),
  fx_rate: Type.String(),
  ratio_numerator: Nullable(Type.Integer()),
  ratio_denominator: Nullable(Type.Integer()),
  executed_at: Timestamp(),
  note: Nullable(Type.String()),
  created_at: Timestamp(),
  updated_at: Timestamp(),
}, { $id: 'Transaction', description: 'A recorded transaction; decimals are strings at full precision.' });
export type TransactionOut = Static<typeof TransactionOut>;

const DateOrTimestamp = DateOrDateTime;

/** Every sort and filter is an enum or a strict grammar (FAIL-016); values are bound, never concatenated. */
export const TransactionListQuery = Type.Object(
  {
    sort: Type.Optional(Type.Union(TRANSACTION_SORTS.map((s) => Type.Literal(s)), { default: 'executed_at' })),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' })),
    type: Type.Optional(transactionFields.type),
    symbol: Type.Optional(Type.String({ pattern: SYMBOL_INPUT_PATTERN, minLength: 1, maxLength: 15, description: 'exact ticker, any case' })),
    from: Type.Optional(DateOrTimestamp('executed at or after (a date means its start, UTC)')),
    to: Type.Optional(DateOrTimestamp('executed at or before (a date covers the whole UTC day)')),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    cursor: Type.Optional(CursorParam()),
  },
  { additionalProperties: false },
);
export const TransactionList = Type.Object(
  { items: Type.Array(TransactionOut), next_cursor: Nullable(Type.String({ description: 'pass as `cursor` for the next page; null on the last page' })) },
  { $id: 'TransactionPage', description: 'One page of transactions and the cursor of the next page.' },
);

const Amount = () => Type.String({ description: 'amount in the base currency, rounded half-up to its minor unit' });
const LotOut = Type.Object({
  transaction_id: Uuid(),
  acquired_at: Timestamp(),
  quantity: Type.String(),
  unit_cost: Type.String({ description: 'cost per share in the base currency, fee included (price scale)' }),
  cost_basis: Amount(),
}, { $id: 'Lot', description: 'An open FIFO lot: shares still held from one purchase.' });
export const HoldingOut = Type.Object({
  symbol: Type.String(),
  quantity: Type.String(),
  average_cost: Nullable(Type.String()),
  cost_basis: Amount(),
  lots: Type.Array(LotOut),
  currency: Nullable(Type.String({ description: 'currency of the latest trade, the quote is taken to be in it' })),
  price: Nullable(Type.String()),
  price_as_of: Nullable(Timestamp()),
  price_source: Nullable(Type.String()),
  stale: Type.Boolean({ description: 'true when the quote is old or missing' }),
  market_value: Nullable(Amount()),
  unrealized_pnl: Nullable(Amount()),
  realized_pnl: Amount(),
  dividends: Amount(),
  interest: Amount(),
  fees: Amount(),
  weight: Nullable(Type.String({ description: 'percent of the priced holdings’ market value' })),
}, { $id: 'Holding', description: 'One symbol held in a portfolio: shares, lots, cost, value and income, in the base currency.' });
export const HoldingsOut = Type.Object({
  portfolio_id: Uuid(),
  base_currency: Type.String(),
  items: Type.Array(HoldingOut),
  cash: Amount(),
  totals: Type.Object({
    market_value: Amount(),
    cost_basis: Amount(),
    unrealized_pnl: Amount(),
    realized_pnl: Amount(),
    dividends: Amount(),
    interest: Amount(),
    fees: Amount(),
    deposits: Amount(),
    withdrawals: Amount(),
    net_contributions: Amount(),
    cash: Amount(),
    total_value: Amount(),
    stale: Type.Boolean(),
    unpriced_symbols: Type.Array(Type.String()),
  }),
}, { $id: 'Holdings', description: 'A portfolio\'s holdings, cash and totals, valued at the latest quotes.' });
export type HoldingsOut = Static<typeof HoldingsOut>;
export type LotOut = Static<typeof LotOut>;
export type HoldingOut = Static<typeof HoldingOut>;
export const HoldingsQuery = Type.Object(
  { include_closed: Type.Optional(Type.Boolean({ default: false, description: 'also list symbols with no shares left' })) },
  { additionalProperties: false },
);

const PresetName = () => Type.Union(PRESET_NAMES.map((name) => Type.Literal(name)), { description: 'a broker export preset' });
const DelimiterName = () => Type.Union([Type.Literal('comma'), Type.Literal('semicolon'), Type.Literal('tab')], { description: 'field delimiter; detected when absent' });
const DateFormatName = () => Type.Union(DATE_FORMATS.map((f) => Type.Literal(f)), { description: 'date format; detected when absent' });
const DecimalName = () => Type.Union([Type.Literal('point'), Type.Literal('comma')], { description: 'decimal separator: point (1,234.56) or comma (1.234,56)' });
const ImportTargetName = () => Type.Union(IMPORT_TARGETS.map((t) => Type.Literal(t)));
/** A header as a broker writes it (mapping keys, ignored names). */
const HeaderName = () => Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000-\\u001f]+$' });

export const ImportQuery = Type.Object(
  {
    dryRun: Type.Optional(Type.Boolean({ default: false })),
    preset: Type.Optional(PresetName()),
    delimiter: Type.Optional(DelimiterName()),
    date_format: Type.Optional(DateFormatName()),
    decimal: Type.Optional(DecimalName()),
    map: Type.Optional(Type.Array(Type.String({ minLength: 3, maxLength: 250, pattern: '^[^=]+=[a-z_]+$' }), { maxItems: 100, description: 'Header=field, repeatable (e.g. map=Fees %26 Comm=fee)' })),
    ignore: Type.Optional(Type.Array(HeaderName(), { maxItems: 100, description: 'a header whose cells are deliberately not imported, repeatable' })),
    mapping: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'a saved mapping, by id or name' })),
  },
  { additionalProperties: false },
);

/** A saved column mapping: what an import request says about a file, kept under a name. */
export const MappingBody = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 100 }),
    preset: Type.Optional(Nullable(PresetName())),
    delimiter: Type.Optional(Nullable(DelimiterName())),
    date_format: Type.Optional(Nullable(DateFormatName())),
    decimal: Type.Optional(Nullable(DecimalName())),
    columns: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 200 }), ImportTargetName(), { maxProperties: 100 })),
    ignore: Type.Optional(Type.Array(HeaderName(), { maxItems: 100 })),
  },
  { additionalProperties: false },
);
export type MappingBody = Static<typeof MappingBody>;
export const MappingOut = Type.Object({
  id: Uuid(),
  name: Type.String(),
  preset: Nullable(Type.String()),
  delimiter: Nullable(Type.String()),
  date_format: Nullable(Type.String()),
  decimal: Nullable(Type.String()),
  columns: Type.Record(Type.String(), Type.String()),
  ignore: Type.Array(Type.String()),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});
export type MappingOut = Static<typeof MappingOut>;
export const MappingParams = Type.Object({ id: Uuid() }, { additionalProperties: false });
export const MappingList = Type.Object({ items: Type.Array(MappingOut) });
export const RowError = Type.Object({ row: Type.Integer({ description: 'line in the file; the header is line 1' }), field: Type.String(), reason: Type.String() });
export const ImportResult = Type.Object({
  dry_run: Type.Boolean(),
  valid: Type.Boolean(),
  rows: Type.Integer(),
  imported: Type.Integer({ description: 'written (0 on a dry run)' }),
  would_import: Type.Integer(),
  duplicates: Type.Integer({ description: 'rows equal to an existing transaction, skipped' }),
  skipped: Type.Integer({ description: 'lines a preset knows are not transactions (totals, disclaimers)' }),
  errors: Type.Array(RowError),
  statuses: Type.Array(
    Type.Object({
      row: Type.Integer(),
      status: Type.Union([Type.Literal('would_import'), Type.Literal('duplicate'), Type.Literal('invalid'), Type.Literal('skipped')]),
      type: Type.Optional(Type.String()),
      symbol: Type.Optional(Type.String()),
      reason: Type.Optional(Type.String()),
    }),
    { description: 'every data row: would_import (valid), duplicate, invalid (first problem in reason) or skipped' },
  ),
}, { $id: 'ImportResult', description: 'What a CSV import wrote (or, on a dry run, would write), every row error and every row\'s status.' });
export type ImportResult = Static<typeof ImportResult>;

/** A transaction as exported: the body of a POST plus its identity (optional on import). */
const ExportTransaction = Type.Object(
  {
    id: Type.Optional(Uuid()),
    portfolio_id: Type.Optional(Uuid()),
    created_at: Type.Optional(Timestamp()),
    updated_at: Type.Optional(Timestamp()),
    ...TransactionBody.properties,
  },
  { additionalProperties: false },
);
/** The fields an exported transaction carries (what the import accepts back). */
export const EXPORT_TRANSACTION_FIELDS = Object.keys(ExportTransaction.properties) as ReadonlyArray<keyof Static<typeof ExportTransaction>>;
const ExportPortfolio = Type.Object(
  {
    id: Type.Optional(Uuid()),
    name: PortfolioName(),
    base_currency: CurrencyCode(),
    created_at: Type.Optional(Timestamp()),
    updated_at: Type.Optional(Timestamp()),
    transactions: Type.Array(ExportTransaction, { maxItems: 100_000 }),
  },
  { additionalProperties: false },
);
export const EXPORT_FORMAT = 'financehub.export';
/** What GET /v1/export answers and POST /v1/import accepts. */
export const ExportDocument = Type.Object(
  {
    format: Type.Literal(EXPORT_FORMAT),
    version: Type.Literal(1),
    exported_at: Type.Optional(Timestamp()),
    portfolios: Type.Array(ExportPortfolio, { maxItems: 1000 }),
    watchlist: Type.Optional(Type.Array(Type.Object({ symbol: Type.String({ pattern: SYMBOL_INPUT_PATTERN }), added_at: Type.Optional(Timestamp()) }, { additionalProperties: false }), { maxItems: 10_000 })),
  },
  { $id: 'ExportDocument', additionalProperties: false, description: 'Everything a user owns, in the format POST /v1/import reads back.' },
);
export type ExportDocument = Static<typeof ExportDocument>;
export const ExportImportResult = Type.Object({
  portfolios: Type.Array(Type.Object({ source_id: Nullable(Uuid()), id: Uuid(), name: Type.String(), transactions: Type.Integer() })),
});
