// The template language: logic-less Mustache (mustache 4.2.0, pinned) restricted to the
// documented report data model (docs/reports.md). A body is checked before it is stored:
// it parses; it is at most TEMPLATE_BODY_MAX_CHARS; every variable names a field of the
// data model in its context (so `constructor`, `__proto__`, `lookup` or a call never
// reach a lookup); no partials (`{{> x}}`), no delimiter changes and no unescaped output
// (`{{{x}}}`, `{{& x}}`); a list section is never nested in another list section, so the
// rendered size is bounded by the body size times the longest list. The view is plain data
// in null-prototype objects (no functions, so Mustache's lambdas never run), and the
// parsed-template cache is off (bodies are user input; the cache would grow without bound).
import Mustache from 'mustache';
import { badRequest } from '../../platform/errors.ts';

export const TEMPLATE_BODY_MAX_CHARS = 65_536;
/** A rendered report larger than this fails instead of being stored. */
export const RENDERED_MAX_CHARS = 2_000_000;

Mustache.templateCache = undefined;

type Field = 'value' | { object: Record<string, Field> } | { list: Record<string, Field> };

const obj = (fields: Record<string, Field>): Field => ({ object: fields });
const list = (fields: Record<string, Field>): Field => ({ list: fields });
const values = (...names: string[]): Record<string, Field> => Object.fromEntries(names.map((n) => [n, 'value' as const]));

/** The report data model's shape: the variables a template may use (see docs/reports.md). */
export const DATA_MODEL: Record<string, Field> = {
  generated_at: 'value',
  portfolio: obj(values('id', 'name', 'base_currency')),
  totals: obj(values('market_value', 'cost_basis', 'unrealized_pnl', 'realized_pnl', 'dividends', 'fees', 'cash', 'total_value', 'stale')),
  holdings: list(values('symbol', 'quantity', 'average_cost', 'price', 'market_value', 'cost_basis', 'unrealized_pnl', 'unrealized_pnl_percent', 'weight_percent', 'day_change_percent', 'stale')),
  allocation: list(values('symbol', 'market_value', 'weight_percent')),
  performance: list(values('range', 'from', 'to', 'start_value', 'end_value', 'total_gain', 'simple_return_percent', 'time_weighted_return_percent', 'max_drawdown_percent')),
  indicators: list(values('symbol', 'as_of', 'close', 'rsi_14', 'rsi_state', 'sma_20', 'sma_20_position')),
  alerts: list(values('symbol', 'kind', 'fired_at', 'value', 'threshold', 'message')),
  news: list(values('symbol', 'headline', 'source', 'url', 'published_at', 'sentiment')),
  narrative: obj({ text: 'value', sentences: list(values('text')) }),
  ai: obj(values('available', 'text', 'note')),
};

type Token = [string, string, number, number, Token[]?, number?];

interface Scope {
  fields: Record<string, Field>;
  inList: boolean;
}

const lookupIn = (fields: Record<string, Field>, key: string): Field | undefined => (Object.hasOwn(fields, key) ? fields[key] : undefined);

/** Resolves a (dotted) name as Mustache does: the first part in the innermost scope that has it. */
function resolve(name: string, scopes: Scope[]): Field | undefined {
  if (name === '.') return scopes.length > 1 ? 'value' : undefined;
  const parts = name.split('.');
  const head = parts[0] ?? '';
  let field: Field | undefined;
  for (let i = scopes.length - 1; i >= 0 && field === undefined; i -= 1) field = lookupIn((scopes[i] as Scope).fields, head);
  for (const part of parts.slice(1)) {
    if (field === undefined || field === 'value' || 'list' in field) return undefined;
    field = lookupIn(field.object, part);
  }
  return field;
}

const invalid = (detail: string) => badRequest('invalid_template', detail, [{ field: 'body.body', message: detail }]);

function check(tokens: Token[], scopes: Scope[]): void {
  for (const token of tokens) {
    const [type, name] = token;
    switch (type) {
      case 'text':
      case '!':
        break;
      case 'name': {
        const field = resolve(name, scopes);
        if (field === undefined) throw invalid(`{{${name}}} is not a variable of the report data model`);
        break;
      }
      case '#':
      case '^': {
        const field = resolve(name, scopes);
        if (field === undefined) throw invalid(`{{#${name}}} is not a variable of the report data model`);
        const inner = token[4] ?? [];
        const current = scopes[scopes.length - 1] as Scope;
        if (field !== 'value' && 'list' in field) {
          if (current.inList) throw invalid(`{{#${name}}}: a list section cannot be nested in another list section`);
          check(inner, type === '#' ? [...scopes, { fields: field.list, inList: true }] : scopes);
        } else if (field !== 'value') {
          check(inner, type === '#' ? [...scopes, { fields: field.object, inList: current.inList }] : scopes);
        } else {
          check(inner, scopes);
        }
        break;
      }
      case '&':
        throw invalid(`{{{${name}}}}: unescaped output is not allowed`);
      case '>':
        throw invalid(`{{> ${name}}}: partials are not allowed`);
      case '=':
        throw invalid('changing delimiters is not allowed');
      default:
        throw invalid(`unsupported tag {{${type}${name}}}`);
    }
  }
}

/** Throws 400 invalid_template unless `body` is a valid template of the data model. */
export function validateTemplate(body: string): void {
  if (body.length > TEMPLATE_BODY_MAX_CHARS) throw invalid(`a template is at most ${TEMPLATE_BODY_MAX_CHARS} characters`);
  let tokens: Token[];
  try {
    tokens = Mustache.parse(body) as Token[];
  } catch (err) {
    throw invalid(`the template does not parse: ${err instanceof Error ? err.message.split('\n')[0] : 'syntax error'}`);
  }
  check(tokens, [{ fields: DATA_MODEL, inList: false }]);
}

/** Deep copy into null-prototype objects and arrays of strings: plain data only. */
export function plainView(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainView);
  if (value !== null && typeof value === 'object') {
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, v] of Object.entries(value)) out[k] = plainView(v);
    return out;
  }
  if (typeof value === 'number' || typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  return null;
}

/** Renders a validated body; HTML-escapes every value (Mustache's default). */
export function renderTemplate(body: string, view: object): string {
  validateTemplate(body);
  return Mustache.render(body, plainView(view), {}, { tags: ['{{', '}}'] });
}
