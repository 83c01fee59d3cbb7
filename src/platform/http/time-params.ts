// One query-string grammar for points in time on every route: a calendar date
// (`2025-01-31`, meaning that UTC day) or an RFC 3339 date-time with an offset
// (`2025-01-31T14:30:00Z`). Routes say how they read a date at each end of a range.
// Both forms keep to the accepted date window's years (input.ts: 1900 and later).
import { Type } from 'typebox';
import { DateTime, Day } from './input.ts';

const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

export const DateOrDateTime = (description: string) =>
  Type.Union([Day('a date (YYYY-MM-DD, UTC)'), DateTime('a date-time with offset (RFC 3339)')], {
    description: `${description}; a date (YYYY-MM-DD, UTC) or a date-time (RFC 3339, e.g. 2025-01-31T14:30:00Z)`,
    examples: ['2025-01-31', '2025-01-31T14:30:00Z'],
  });

export function isDateOnly(value: string): boolean {
  return DATE.test(value);
}

/** The instant a validated value names: a date is the start of that UTC day. */
export function instantOf(value: string): Date {
  return new Date(isDateOnly(value) ? `${value}T00:00:00.000Z` : value);
}

/** The UTC calendar day of a validated value. */
export function utcDayOf(value: string): string {
  return isDateOnly(value) ? value : new Date(value).toISOString().slice(0, 10);
}
