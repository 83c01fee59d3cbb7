// Request and response schemas of the portfolios routes. Money travels as decimal
// strings: a JSON number in any money field fails validation with a 400 naming the
// field (FAIL-002), because body validation does not coerce types.
import { Type, type Static } from 'typebox';
import { DecimalString } from '../../money/index.ts';
import { SYMBOL_INPUT_PATTERN } from '../market/symbols.ts';
import { TRANSACTION_TYPES } from './portfolios.types.ts';
import { TRANSACTION_SORTS } from './transactions.list.ts';
import { MAX_NOTE_LENGTH, MAX_SPLIT_TERM } from './transactions.validation.ts';

const Uuid = () => Type.String({ format: 'uuid' });
const Timestamp = () => Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const CurrencyCode = () => Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 code, e.g. "USD"', examples: ['USD'] });

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
    name: Type.String({ minLength: 1, maxLength: 100 }),
    base_currency: CurrencyCode(),
  },
  { additionalProperties: false },
);

export const PortfolioUpdateBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false });

export const PortfolioOut = Type.Object({
  id: Uuid(),
  name: Type.String(),
  base_currency: Type.String(),
  created_at: Timestamp(),
  updated_at: Timestamp(),
});
export type PortfolioOut = Static<typeof PortfolioOut>;

export const PortfolioList = Type.Object({ items: Type.Array(PortfolioOut), next_cursor: Type.Null() });

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
  note: Nullable(Type.String({ maxLength: MAX_NOTE_LENGTH })),
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
  { additionalProperties: false },
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
});
export type TransactionOut = Static<typeof TransactionOut>;

const DateOrTimestamp = (description: string) =>
  Type.Union([Type.String({ format: 'date', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' }), Type.String({ format: 'date-time' })], { description });

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
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' })),
  },
  { additionalProperties: false },
);
export const TransactionList = Type.Object({ items: Type.Array(TransactionOut), next_cursor: Nullable(Type.String()) });

const Amount = () => Type.String({ description: 'amount in the base currency, rounded half-up to its minor unit' });
const LotOut = Type.Object({
  transaction_id: Uuid(),
  acquired_at: Timestamp(),
  quantity: Type.String(),
  unit_cost: Type.String({ description: 'cost per share in the base currency, fee included (price scale)' }),
  cost_basis: Amount(),
});
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
});
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
});
export type HoldingsOut = Static<typeof HoldingsOut>;
export type LotOut = Static<typeof LotOut>;
export type HoldingOut = Static<typeof HoldingOut>;
export const HoldingsQuery = Type.Object(
  { include_closed: Type.Optional(Type.Boolean({ default: false, description: 'also list symbols with no shares left' })) },
  { additionalProperties: false },
);

export const ImportQuery = Type.Object({ dryRun: Type.Optional(Type.Boolean({ default: false })) }, { additionalProperties: false });
export const RowError = Type.Object({ row: Type.Integer({ description: 'line in the file; the header is line 1' }), field: Type.String(), reason: Type.String() });
export const ImportResult = Type.Object({
  dry_run: Type.Boolean(),
  valid: Type.Boolean(),
  rows: Type.Integer(),
  imported: Type.Integer({ description: 'written (0 on a dry run)' }),
  would_import: Type.Integer(),
  duplicates: Type.Integer({ description: 'rows equal to an existing transaction, skipped' }),
  errors: Type.Array(RowError),
});
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
const ExportPortfolio = Type.Object(
  {
    id: Type.Optional(Uuid()),
    name: Type.String({ minLength: 1, maxLength: 100 }),
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
  },
  { additionalProperties: false },
);
export type ExportDocument = Static<typeof ExportDocument>;
export const ExportImportResult = Type.Object({
  portfolios: Type.Array(Type.Object({ source_id: Nullable(Uuid()), id: Uuid(), name: Type.String(), transactions: Type.Integer() })),
});
