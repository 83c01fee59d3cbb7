import { Type, type Static } from 'typebox';
import { TimeOrderParam } from '../../platform/http/cursor.ts';
import { DecimalString } from '../../money/index.ts';
import { SymbolParam } from '../market/index.ts';
import type { ALERT_KINDS } from './rules.ts';

const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size' });
const Cursor = Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' });
const Kind = Type.Union([
  Type.Literal('price_above'),
  Type.Literal('price_below'),
  Type.Literal('percent_change'),
  Type.Literal('rsi_above'),
  Type.Literal('rsi_below'),
  Type.Literal('price_crosses_bollinger_upper'),
  Type.Literal('price_crosses_bollinger_lower'),
  Type.Literal('macd_crosses_signal_up'),
  Type.Literal('macd_crosses_signal_down'),
  Type.Literal('sma_cross_up'),
  Type.Literal('sma_cross_down'),
]);
// Fails to compile when rules.ts gains a kind this schema lacks.
const everyKind: Exclude<(typeof ALERT_KINDS)[number], Static<typeof Kind>> extends never ? true : false = true;
void everyKind;
const Mode = Type.Union([Type.Literal('once'), Type.Literal('every_time'), Type.Literal('once_per_bar')]);
const Interval = Type.Union([Type.Literal('1d'), Type.Literal('1m')], { description: 'bars the rule evaluates on (`1d` or the intraday `1m`)' });
const Period = Type.Integer({ minimum: 2, maximum: 500 });

export const AlertParams = Type.Object(
  {
    period: Type.Optional(Period),
    k: Type.Optional(DecimalString({ unsigned: true, description: 'Bollinger width in standard deviations, e.g. "2"' })),
    fast: Type.Optional(Period),
    slow: Type.Optional(Period),
    signal: Type.Optional(Period),
    window: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'percent_change: bars back to compare with' })),
  },
  { additionalProperties: false },
);

export const CreateAlertBody = Type.Object(
  {
    kind: Kind,
    symbol: SymbolParam(),
    interval: Type.Optional(Interval),
    threshold: Type.Optional(DecimalString({ description: 'decimal string: a price, an RSI level or a percent' })),
    params: Type.Optional(AlertParams),
    mode: Type.Optional(Mode),
    cooldown_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })),
  },
  { additionalProperties: false },
);

export const PatchAlertBody = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('paused')])),
    threshold: Type.Optional(DecimalString()),
    mode: Type.Optional(Mode),
    cooldown_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AlertIdParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export const PageQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor) }, { additionalProperties: false });
/** Events can be read newest first too: the usual view of what fired. */
export const EventsQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor), order: Type.Optional(TimeOrderParam()) }, { additionalProperties: false });

export const Alert = Type.Object({
  id: Type.String({ format: 'uuid' }),
  kind: Kind,
  symbol: Type.String(),
  interval: Interval,
  threshold: Type.Union([Type.String(), Type.Null()]),
  params: Type.Object({
    period: Type.Optional(Type.Integer()),
    k: Type.Optional(Type.String()),
    fast: Type.Optional(Type.Integer()),
    slow: Type.Optional(Type.Integer()),
    signal: Type.Optional(Type.Integer()),
    window: Type.Optional(Type.Integer()),
  }),
  mode: Mode,
  cooldown_seconds: Type.Integer(),
  status: Type.Union([Type.Literal('active'), Type.Literal('paused'), Type.Literal('triggered')]),
  last_fired_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
}, { $id: 'Alert', description: 'A price or indicator alert rule and its state.' });

export const AlertsPage = Type.Object(
  { items: Type.Array(Alert), next_cursor: Type.Union([Type.String(), Type.Null()]) },
  { $id: 'AlertPage', description: 'One page of alerts and the cursor of the next page (null on the last).' },
);

export const AlertEvent = Type.Object({
  id: Type.String({ format: 'uuid' }),
  alert_id: Type.String({ format: 'uuid' }),
  kind: Kind,
  symbol: Type.String(),
  fired_at: Type.String({ format: 'date-time' }),
  value: Type.String({ description: 'the value that crossed, a decimal string' }),
  threshold: Type.Union([Type.String(), Type.Null()]),
  message: Type.String(),
}, { $id: 'AlertEvent', description: 'One firing of an alert.' });

export const AlertEventsPage = Type.Object(
  { items: Type.Array(AlertEvent), next_cursor: Type.Union([Type.String(), Type.Null()]) },
  { $id: 'AlertEventPage', description: 'One page of alert firings and the cursor of the next page (null on the last).' },
);

export const WebhookBody = Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false });
export const Webhook = Type.Object({ url: Type.String(), secret: Type.String({ description: 'HMAC-SHA256 key for X-FinanceHub-Signature; shown only now' }) });
export const WebhookView = Type.Object({ url: Type.String(), created_at: Type.String({ format: 'date-time', description: 'when it was set (a new secret each time)' }) });
