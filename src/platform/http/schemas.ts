// Validation: body schemas are checked strictly (no type coercion, so a JSON number is
// never quietly turned into a money string; unknown properties rejected), while
// params/querystring/headers coerce from their string form.
import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { withoutIds } from './components.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under Node's ESM loader.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const common: Options = {
  allErrors: false,
  removeAdditional: false,
  useDefaults: true,
  strict: false,
  // Errors carry the failing value and its schema, so the error handler can say "send
  // decimals as strings" when a money field arrives as a JSON number.
  verbose: true,
};

function makeAjv(options: Options): Ajv {
  const ajv = new Ajv({ ...common, ...options });
  addFormats(ajv);
  return ajv;
}

export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = makeAjv({ coerceTypes: false });
  const coercing = makeAjv({ coerceTypes: 'array' });
  // `$id` only names a schema in the OpenAPI document (./components.ts); without it the
  // same named shape can appear in many routes, and twice in one, without Ajv refusing it.
  return ({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(withoutIds(schema) as object);
}
