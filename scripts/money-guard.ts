// FAIL-002 source guard: ESLint `no-restricted-syntax` entries that fail the lint (and so
// the build) on binary floating point creeping into financial code. eslint.config.js
// spreads moneyGuardConfigs(); test/integration/money/source-guard.test.ts proves the
// rules catch planted violations in a fixture and that the real tree passes them.
//
// What a lint rule can and cannot see: money values are Decimal objects, on which
// TypeScript refuses `+`, `-`, `*`, `/` and comparisons, or (in the holdings engine)
// BigInt decimals from src/money/fixed.ts, whose operators are exact integer
// arithmetic and which TypeScript will not mix with a `number`. What can slip through is a conversion to `number`
// (`parseFloat`, `Number(…)`, unary `+`, Decimal#toNumber) or float formatting and maths
// (`toFixed`, `Math.*`). Those are textual patterns, and those are what this guards.
//
// Two tiers:
// - strict (money, portfolios, portfolio analytics, alerts): no conversion to number, no
//   float formatting, no Math.*, no unary plus, no Number(…);
// - conversions only (market, indicators): only the float conversions and formatting are
//   refused, because their code does exact integer work on numbers and BigInts by design
//   (the indicators' fixed-point engine, Math.floor on timestamps, a seeded RNG in the
//   simulated provider). Number(…) of a BigInt and Math.* on integers stay allowed there.
// Test files are exempt: they compare against float reference implementations.

export interface RestrictedSyntax {
  selector: string;
  message: string;
}

const WHY = 'FAIL-002: money, prices, quantities and rates are Decimal (src/money), never a JS number.';

/** Float conversions and float formatting: refused in every financial module. */
export const FLOAT_CONVERSIONS: RestrictedSyntax[] = [
  { selector: "CallExpression[callee.type='Identifier'][callee.name='parseFloat']", message: `${WHY} Use parseDecimal().` },
  { selector: "MemberExpression[property.name='parseFloat']", message: `${WHY} Use parseDecimal().` },
  { selector: "MemberExpression[property.name='toFixed']", message: `${WHY} Use formatDecimal()/formatAmount()/toPlain() from src/money.` },
  { selector: "MemberExpression[property.name='toPrecision']", message: `${WHY} Use formatDecimal() from src/money.` },
  { selector: "MemberExpression[property.name='toNumber']", message: `${WHY} Keep the Decimal; do not convert it to a float.` },
];

/** Float arithmetic: also refused where code has no business with numbers at all. */
export const FLOAT_ARITHMETIC: RestrictedSyntax[] = [
  { selector: "CallExpression[callee.type='Identifier'][callee.name='Number']", message: `${WHY} Use parseDecimal() or Decimal.` },
  { selector: "NewExpression[callee.type='Identifier'][callee.name='Number']", message: `${WHY} Use Decimal.` },
  { selector: "MemberExpression[object.type='Identifier'][object.name='Math']", message: `${WHY} Use Decimal's methods (abs, max, round …).` },
  { selector: "UnaryExpression[operator='+']", message: `${WHY} Unary + converts to a float; use parseDecimal().` },
];

export const STRICT_FILES = ['src/money/**/*.ts', 'src/modules/portfolios/**/*.ts', 'src/modules/analytics/**/*.ts', 'src/modules/alerts/**/*.ts'];
export const CONVERSION_FILES = ['src/modules/market/**/*.ts', 'src/modules/indicators/**/*.ts'];
const TESTS = ['**/*.test.ts'];

/** Flat-config entries for eslint.config.js (after the shared rules, so they apply). */
export function moneyGuardConfigs(): Array<{ files: string[]; ignores: string[]; rules: Record<string, unknown> }> {
  return [
    { files: CONVERSION_FILES, ignores: TESTS, rules: { 'no-restricted-syntax': ['error', ...FLOAT_CONVERSIONS] } },
    { files: STRICT_FILES, ignores: TESTS, rules: { 'no-restricted-syntax': ['error', ...FLOAT_CONVERSIONS, ...FLOAT_ARITHMETIC] } },
  ];
}
