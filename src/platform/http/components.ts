// Named OpenAPI components. A schema that carries `$id` (set with TypeBox's options,
// e.g. `Type.Object({...}, { $id: 'Portfolio' })`) is written once under
// components.schemas with that name and referenced with `$ref` wherever it occurs.
// `$id` is a name for the document only: the validator compiler drops every `$id`
// before compiling (src/platform/http/schemas.ts), so naming a schema never changes
// what a request may send, and the same shape may sit in many routes.
import type { FastifySchema } from 'fastify';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A deep copy of `schema` without any `$id` (memoised: route schemas are compiled once per part). */
const stripped = new WeakMap<object, unknown>();
export function withoutIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutIds);
  if (!isObject(schema)) return schema;
  const cached = stripped.get(schema);
  if (cached !== undefined) return cached;
  const copy: Json = {};
  for (const [key, value] of Object.entries(schema)) if (key !== '$id') copy[key] = withoutIds(value);
  stripped.set(schema, copy);
  return copy;
}

const DEFAULT_DECIMAL_DESCRIPTION = 'decimal number as a string, e.g. "101.25"';

/**
 * The two decimal-string shapes money and quantities travel in (FAIL-002). A field keeps
 * its own description next to the reference (`allOf` with one member, which OpenAPI
 * tools show as the referenced type).
 */
function decimalComponent(field: Json): Json {
  const signed = typeof field.pattern === 'string' && field.pattern.startsWith('^-');
  const named: Json = {
    $id: signed ? 'DecimalString' : 'UnsignedDecimalString',
    type: 'string',
    pattern: field.pattern,
    maxLength: field.maxLength,
    description: signed
      ? 'A decimal number written as a JSON string, e.g. "101.25" or "-3.5": never a JSON number, so no digit is lost.'
      : 'A non-negative decimal number written as a JSON string, e.g. "101.25": never a JSON number, so no digit is lost.',
    examples: ['101.25'],
  };
  const { description } = field;
  return typeof description === 'string' && description !== DEFAULT_DECIMAL_DESCRIPTION ? { description, allOf: [named] } : { allOf: [named] };
}

/** Replaces each decimal-string field (marked `x-decimal`) with a reference to its component. */
function nameDecimals(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nameDecimals);
  if (!isObject(schema)) return schema;
  if (schema['x-decimal'] === true) return decimalComponent(schema);
  const copy: Json = {};
  for (const [key, value] of Object.entries(schema)) copy[key] = key === 'examples' || key === 'default' || key === 'enum' || key === 'const' ? value : nameDecimals(value);
  return copy;
}

/**
 * OpenAPI only: the copy of a route schema the document is built from. Decimal fields
 * point at their component; a named response is wrapped so that @fastify/swagger (which
 * leaves a top-level `$id` inline) turns it into a reference; `unwrapNamedResponses`
 * undoes the wrapper once the reference is in place.
 */
export function nameComponents(schema: FastifySchema): FastifySchema {
  const named = nameDecimals(schema) as Json;
  const response = named.response;
  if (isObject(response)) {
    const wrapped: Json = {};
    for (const [status, body] of Object.entries(response)) {
      wrapped[status] = isObject(body) && typeof body.$id === 'string' ? { description: body.description, allOf: [body] } : body;
    }
    named.response = wrapped;
  }
  return named;
}

/** After the document is built: `{ allOf: [{ $ref }] }` as a whole response body becomes the `$ref`. */
export function unwrapNamedResponses(doc: Json): Json {
  for (const pathItem of Object.values(isObject(doc.paths) ? doc.paths : {})) {
    for (const operation of Object.values(isObject(pathItem) ? pathItem : {})) {
      const responses = isObject(operation) && isObject(operation.responses) ? operation.responses : {};
      for (const response of Object.values(responses)) {
        const content = isObject(response) && isObject(response.content) ? response.content : {};
        for (const media of Object.values(content)) {
          if (!isObject(media) || !isObject(media.schema)) continue;
          const { allOf, ...rest } = media.schema;
          const only: unknown = Array.isArray(allOf) && allOf.length === 1 ? (allOf as unknown[])[0] : undefined;
          if (isObject(only) && typeof only.$ref === 'string' && Object.keys(rest).every((key) => key === 'description')) media.schema = { $ref: only.$ref };
        }
      }
    }
  }
  return doc;
}
