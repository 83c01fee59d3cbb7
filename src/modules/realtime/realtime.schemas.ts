// What clients may send over /v1/ws (checked with the same strict, non-coercing Ajv setup
// as HTTP bodies), the channel grammar, and the connections API's schemas.
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Type, type Static } from 'typebox';
import { CANDLE_INTERVALS, isSymbol, type CandleInterval } from '../market/index.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under Node's ESM loader.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Longest channel name accepted (`candles:<15-char symbol>:<interval>` fits easily). */
const MAX_CHANNEL = 64;
/** Channels in one subscribe/unsubscribe message. */
export const MAX_CHANNELS_PER_MESSAGE = 50;

const Id = Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'echoed on the answer (error, pong, ready)' }));
const Channels = Type.Array(Type.String({ minLength: 1, maxLength: MAX_CHANNEL }), { minItems: 1, maxItems: MAX_CHANNELS_PER_MESSAGE });

export const ClientMessage = Type.Union([
  Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 4096 }), id: Id }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('subscribe'), channels: Channels, id: Id }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('unsubscribe'), channels: Channels, id: Id }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('ping'), id: Id }, { additionalProperties: false }),
]);
export type ClientMessage = Static<typeof ClientMessage>;

const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: false, coerceTypes: false, strict: false });
addFormats(ajv);
export const isClientMessage = ajv.compile<ClientMessage>(ClientMessage);

export type Channel =
  | { kind: 'quotes'; name: string; symbol: string }
  | { kind: 'candles'; name: string; symbol: string; interval: CandleInterval }
  | { kind: 'portfolio'; name: string; portfolioId: string }
  | { kind: 'alerts'; name: string }
  | { kind: 'news'; name: string; symbol: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The channel a name denotes, or null. Names are exact: symbols upper-case, intervals as
 * in the candles API, portfolio ids lower-case UUIDs, so one channel has one name.
 */
export function parseChannel(name: string): Channel | null {
  if (name.length > MAX_CHANNEL) return null;
  if (name === 'alerts') return { kind: 'alerts', name };
  const parts = name.split(':');
  const [kind, a, b] = parts;
  if (parts.length === 2 && a !== undefined) {
    if (kind === 'quotes' && isSymbol(a)) return { kind: 'quotes', name, symbol: a };
    if (kind === 'news' && isSymbol(a)) return { kind: 'news', name, symbol: a };
    if (kind === 'portfolio' && UUID.test(a)) return { kind: 'portfolio', name, portfolioId: a };
  }
  if (parts.length === 3 && kind === 'candles' && a !== undefined && b !== undefined && isSymbol(a)) {
    const interval = CANDLE_INTERVALS.find((i) => i === b);
    if (interval !== undefined) return { kind: 'candles', name, symbol: a, interval };
  }
  return null;
}

export const ConnectionParams = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

export const ConnectionItem = Type.Object({
  id: Type.String({ format: 'uuid' }),
  opened_at: Type.String({ format: 'date-time' }),
  ip: Type.String(),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  subscriptions: Type.Array(Type.String()),
  instance: Type.String({ description: 'the server instance holding the socket' }),
  current_session: Type.Boolean({ description: 'opened with the access token of the calling session' }),
});

export const ConnectionList = Type.Object({
  items: Type.Array(ConnectionItem),
  next_cursor: Type.Null(),
});
