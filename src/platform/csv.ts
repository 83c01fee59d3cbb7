// Writing CSV cells that spreadsheets open safely, and reading them back. A cell starting
// with =, +, -, @, tab or carriage return is run as a formula by Excel, LibreOffice and
// Google Sheets (CSV injection, OWASP); such a cell is prefixed with a single quote, which
// makes it text. Plain numbers ("-1.5", "+2") are left as they are: they are data, not
// formulas. A cell that already starts with quotes before such a character gets one more,
// so restoreCsvCell can take exactly one off and every value reads back unchanged.
const FORMULA_START = /^'*[=+\-@\t\r]/;
const NEUTRALISED = /^'+[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?[0-9]+(\.[0-9]+)?$/;

/** A cell value as written: formula-looking text prefixed with a single quote. */
export function neutraliseCsvCell(value: string): string {
  return FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) ? `'${value}` : value;
}

/** The inverse of neutraliseCsvCell: the one leading quote it added is taken off. */
export function restoreCsvCell(value: string): string {
  return NEUTRALISED.test(value) ? value.slice(1) : value;
}

/** One CSV cell: formula-looking text neutralised, then quoted when it holds `"`, `,` or a line break. */
export function csvCell(value: string): string {
  const safe = neutraliseCsvCell(value);
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
