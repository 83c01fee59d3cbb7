// Opaque keyset cursors: base64url JSON of the last row's sort key. Clients pass them
// back untouched; anything that does not decode to the expected shape is a 400, never a
// 500 and never SQL (the values are bound parameters in the repository).
import { badRequest } from '../../platform/errors.ts';

export function encodeCursor(value: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

const invalid = () => badRequest('invalid_cursor', 'The cursor is not valid; pass back next_cursor unchanged.', [{ field: 'query.cursor', message: 'is not a valid cursor' }]);

/** Decodes a cursor into `{ at, id }` where `at` is a timestamp and `id` matches `idPattern`. */
export function decodeCursor<Id extends string | number>(cursor: string, isId: (value: unknown) => value is Id): { at: Date; id: Id } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { at, id } = parsed as { at?: unknown; id?: unknown };
  if (typeof at !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(at) || !isId(id)) throw invalid();
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) throw invalid();
  return { at: date, id };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
export const isPositiveInt = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
