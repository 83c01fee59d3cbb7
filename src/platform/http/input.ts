// The shapes every user-supplied text and date takes, so no field is looser than another
// (FAIL-007). Text never carries control characters: PostgreSQL cannot store NUL in text
// (it was a 500), and the rest only ever hide content in logs, exports and terminals.
// Dates lie in one window, 1900-01-01 to one day ahead: before it, PGlite reads years
// 0001–0099 back as 19xx/20xx and year 0 fails outright, and a daily series from year 100
// has 700,000 points; after it, a date is a typo, not a trade.
import { Type, type TString } from 'typebox';

/** C0 controls and DEL, anywhere. */
const SINGLE_LINE = '^[^\\u0000-\\u001F\\u007F]*$';
/** The same, but tab, line feed and carriage return are allowed (notes). */
const MULTI_LINE = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$';
const SINGLE_LINE_RE = new RegExp(SINGLE_LINE, 'u');
const MULTI_LINE_RE = new RegExp(MULTI_LINE, 'u');

export interface TextOptions {
  minLength?: number;
  maxLength: number;
  description?: string;
  /** Allow tab, LF and CR (free-form notes); other control characters are still refused. */
  multiline?: boolean;
}

/** A string schema without control characters; a length bound is required. */
export function Text(options: TextOptions): TString {
  const { multiline = false, ...rest } = options;
  return Type.String({ ...rest, pattern: multiline ? MULTI_LINE : SINGLE_LINE });
}

/** The same rule as `Text`, for text that arrives outside a schema (CSV cells). */
export function isCleanText(text: string, multiline = false): boolean {
  return (multiline ? MULTI_LINE_RE : SINGLE_LINE_RE).test(text);
}

export const EARLIEST_DATE = '1900-01-01';
const EARLIEST_MS = Date.UTC(1900, 0, 1);
/** How far past the clock a date may lie (time zones ahead of UTC, a trade booked tonight). */
export const FUTURE_SLACK_MS = 24 * 3600 * 1000;
export const DATE_WINDOW_MESSAGE = `must lie between ${EARLIEST_DATE} and one day from now`;

// The schema keeps years to 1900–2999 (it has no clock); the upper bound, one day ahead,
// is checked with the injected clock wherever a date is used (`isWithinDateWindow`).
const DAY_PATTERN = '^(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$';
const DATE_TIME_PATTERN = '^(19|2[0-9])[0-9]{2}-';

/** A calendar date YYYY-MM-DD, year 1900 or later. */
export function Day(description: string): TString {
  return Type.String({ format: 'date', pattern: DAY_PATTERN, description, maxLength: 10 });
}

/** An RFC 3339 date-time, year 1900 or later. */
export function DateTime(description: string): TString {
  return Type.String({ format: 'date-time', pattern: DATE_TIME_PATTERN, description, maxLength: 40 });
}

/** True when `date` lies in [1900-01-01T00:00Z, now + one day]. */
export function isWithinDateWindow(date: Date, now: Date): boolean {
  const ms = date.getTime();
  return ms >= EARLIEST_MS && ms <= now.getTime() + FUTURE_SLACK_MS;
}
