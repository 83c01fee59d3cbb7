// The one ticker grammar (FAIL-007), shared with portfolios: 1–15 characters, letters,
// digits, `.` and `-`, starting with a letter or digit, compared upper-cased
// (`brk.b` → `BRK.B`). Anything else is refused before it reaches SQL, a cache key or
// a provider URL.
import { Type } from 'typebox';

export const SYMBOL_PATTERN = '^[A-Z0-9][A-Z0-9.\\-]{0,14}$';
const SYMBOL_RE = new RegExp(SYMBOL_PATTERN);
/** Accepted in requests before upper-casing. */
export const SYMBOL_INPUT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9.\\-]{0,14}$';
export const MAX_QUOTE_SYMBOLS = 50;

/** The normalised symbol, or null when it does not follow the grammar. */
export function normaliseSymbol(input: string): string | null {
  const upper = input.trim().toUpperCase();
  return SYMBOL_RE.test(upper) ? upper : null;
}

export function isSymbol(value: string): boolean {
  return SYMBOL_RE.test(value);
}

/** Path parameter / body field: a ticker in any case (normalise with normaliseSymbol). */
export const SymbolParam = () =>
  Type.String({ pattern: SYMBOL_INPUT_PATTERN, minLength: 1, maxLength: 15, description: 'ticker symbol, e.g. AAPL or BRK.B', examples: ['AAPL'] });

const ONE = '[A-Za-z0-9][A-Za-z0-9.\\-]{0,14}';
/** Comma-separated list of 1–50 tickers, no spaces (`AAPL,MSFT`). */
export const SYMBOL_LIST_PATTERN = `^${ONE}(,${ONE}){0,${MAX_QUOTE_SYMBOLS - 1}}$`;
