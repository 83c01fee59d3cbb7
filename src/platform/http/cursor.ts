// The one codec of every paginated list (keyset pagination): an opaque cursor is the
// base64url of a small JSON object naming the sort, the order, the sort key of the last
// item and its id. A cursor coming back is decoded defensively and
// every member is checked against the grammar it must have (FAIL-016): anything else —
// bad base64, bad JSON, wrong types, a cursor of another sort, a key that is not a
// decimal, an id that is not a UUID — is a 400 `invalid_cursor`, never a 500. A cursor
// whose members are well-formed but edited only moves the starting point within the
// caller's own rows: every query still filters by the caller, and every value is bound.
import { Type } from 'typebox';
import { AppError } from '../errors.ts';

export interface CursorPayload {
  /** Sort field the list was read with. */
  s: string;
  /** 'asc' | 'desc'. */
  o: string;
  /** Sort key of the last item returned (null sorts last). */
  k: string | null;
  /** Id of the last item returned (tie-breaker). */
  id: string;
}

const MAX_CURSOR_LENGTH = 512;

export const invalidCursor = (detail = 'cursor is not one this list returned') =>
  new AppError(400, 'invalid_cursor', 'Bad request', { detail, errors: [{ field: 'querystring.cursor', message: 'invalid cursor' }] });

export function encodeCursor(payload: CursorPayload): string {
  return Buffer.from(JSON.stringify({ s: payload.s, o: payload.o, k: payload.k, id: payload.id }), 'utf8').toString('base64url');
}

export interface CursorRules {
  sort: string;
  order: string;
  /** Whether a sort key is well-formed for this sort. */
  key: (value: string) => boolean;
  /** Whether an id is well-formed for this list. */
  id: (value: string) => boolean;
}

/** Decodes and validates a cursor for the list being read with `rules.sort`/`rules.order`. */
export function decodeCursor(cursor: string, rules: CursorRules): CursorPayload {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalidCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidCursor();
  const record = parsed as Record<string, unknown>;
  const keys = Object.keys(record).sort().join(',');
  if (keys !== 'id,k,o,s') throw invalidCursor();
  const { s, o, k, id } = record;
  if (typeof s !== 'string' || typeof o !== 'string' || typeof id !== 'string') throw invalidCursor();
  if (k !== null && typeof k !== 'string') throw invalidCursor();
  if (s !== rules.sort || o !== rules.order) throw invalidCursor('cursor belongs to another sort or order; start again without a cursor');
  if (k !== null && !rules.key(k)) throw invalidCursor();
  if (!rules.id(id)) throw invalidCursor();
  return { s, o, k, id };
}

/** The `cursor` query parameter of every list route: what a cursor can look like at all. */
export const CursorParam = () =>
  Type.String({ minLength: 1, maxLength: MAX_CURSOR_LENGTH, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page' });

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A timestamp key as `Date.toISOString()` writes it (the database keeps microseconds, JS milliseconds). */
const ISO_TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const isTimestampKey = (key: string): boolean => ISO_TIMESTAMP_RE.test(key) && !Number.isNaN(Date.parse(key));

/** A positive integer id in its decimal form (bigint sequences). */
export const isSerialId = (id: string): boolean => /^[1-9][0-9]{0,17}$/.test(id);

/** Whether a value is a UUID (ids in paths and cursors). */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value);

/** Oldest first (`asc`) or newest first (`desc`): the order of a list read in time order. */
export type TimeOrder = 'asc' | 'desc';

/** The `order` query parameter of a list that can be read either way in time. */
export const TimeOrderParam = () =>
  Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'asc: oldest first (the default); desc: newest first. A cursor continues only the order it was read in.' });

/**
 * The SQL of a time-ordered keyset page: rows after the cursor's (time, id) in the order
 * read, and the direction to sort them. Only these fixed strings reach the statement.
 */
export function timeOrderSql(order: TimeOrder): { after: '>' | '<'; direction: 'ASC' | 'DESC' } {
  return order === 'desc' ? { after: '<', direction: 'DESC' } : { after: '>', direction: 'ASC' };
}

/**
 * The cursor of a list read in time order with a UUID tie-breaker (alerts and their
 * events, news, dead letters, reports): the same codec, the list's name standing for the
 * sort, so a cursor of one list is refused by another, and the order in it, so a cursor
 * read oldest first is refused newest first and the other way round.
 */
export function encodeTimeCursor(list: string, at: Date, id: string, order: TimeOrder = 'asc'): string {
  return encodeCursor({ s: list, o: timeOrderName(order), k: at.toISOString(), id });
}

export function decodeTimeCursor(cursor: string, list: string, order: TimeOrder = 'asc'): { at: Date; id: string } {
  const payload = decodeCursor(cursor, { sort: list, order: timeOrderName(order), key: isTimestampKey, id: (value) => UUID_RE.test(value) });
  if (payload.k === null) throw invalidCursor();
  return { at: new Date(payload.k), id: payload.id };
}

/** Oldest first keeps the name its cursors always had, so cursors already handed out stay valid. */
function timeOrderName(order: TimeOrder): string {
  return order === 'desc' ? 'time-desc' : 'time';
}
