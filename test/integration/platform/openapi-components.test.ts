// The OpenAPI document names its shared shapes once (components.schemas, referenced with
// $ref), describes every success response in words, and every example it shows is valid:
// against its schema, with the app's own validator settings, and against the real route.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createValidatorCompiler } from '../../../src/platform/http/schemas.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

type Json = Record<string, unknown>;
interface Media {
  schema?: Json;
  example?: unknown;
  examples?: Record<string, { summary?: string; value: unknown }>;
}
interface Operation {
  requestBody?: { content?: Record<string, Media> };
  responses?: Record<string, { description?: string; content?: Record<string, Media> }>;
}
interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every `$ref` anywhere in the document. */
function refsIn(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsIn(item, out);
  else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') out.push(value);
      else refsIn(value, out);
    }
  }
  return out;
}

/** Descriptions that say nothing about what the answer is. */
const GENERIC = /^(default response|ok|created|accepted|no content|success(ful)?( response)?|response|\d{3})\.?$/i;

describe('OpenAPI components, descriptions and examples', () => {
  let t: TestApp;
  let doc: OpenApiDoc;
  let alice: CreatedUser;
  before(async () => {
    t = await buildTestApp();
    alice = await createUser(t);
    doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDoc>();
  });
  after(() => t.close());

  // The app's body validator (strict, no coercion); the document's components sit in the
  // root so that `#/components/schemas/…` references resolve.
  const compile = createValidatorCompiler();
  const validatorFor = (schema: Json) =>
    compile({ schema: { ...schema, components: doc.components }, httpPart: 'body', method: 'POST', url: '/example' }) as ((value: unknown) => boolean) & {
      errors?: unknown[] | null;
    };

  it('the shared shapes are named once under components.schemas and every $ref resolves', () => {
    const names = Object.keys(doc.components.schemas);
    for (const name of ['Problem', 'DecimalString', 'UnsignedDecimalString', 'Portfolio', 'PortfolioList', 'Transaction', 'TransactionPage', 'Lot', 'Holding', 'Holdings', 'Alert', 'AlertPage', 'AlertEvent', 'Quote', 'Candle']) {
      assert.ok(names.includes(name), `components.schemas.${name} exists (have: ${names.join(', ')})`);
    }
    assert.deepEqual(names.filter((name) => /^def-\d+$/.test(name)), [], 'every component has a readable name');
    const refs = refsIn(doc);
    const dangling = refs.filter((ref) => !(ref.startsWith('#/components/schemas/') && ref.slice('#/components/schemas/'.length) in doc.components.schemas));
    assert.deepEqual(dangling, []);
    // Problem is written once: every operation's 4XX and 5XX answer points at it.
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const status of ['4XX', '5XX']) {
          const schema = op.responses?.[status]?.content?.['application/json']?.schema;
          if (schema !== undefined) assert.deepEqual(schema, { $ref: '#/components/schemas/Problem' }, `${method} ${path} ${status}`);
        }
      }
    }
    // Transactions and portfolios are referenced, not repeated.
    const list = doc.paths['/v1/portfolios/{id}/transactions']?.get?.responses?.['200']?.content?.['application/json']?.schema;
    assert.deepEqual(list, { $ref: '#/components/schemas/TransactionPage' });
    assert.deepEqual(doc.components.schemas.TransactionPage?.properties, {
      ...(doc.components.schemas.TransactionPage?.properties as Json),
      items: { type: 'array', items: { $ref: '#/components/schemas/Transaction' } },
    });
    const body = doc.paths['/v1/portfolios/{id}/transactions']?.post?.requestBody?.content?.['application/json']?.schema;
    const quantity = (body?.properties as Json).quantity;
    assert.ok(JSON.stringify(quantity).includes('"$ref":"#/components/schemas/UnsignedDecimalString"'), 'a decimal field of a request references its component');
    assert.ok(JSON.stringify(quantity).includes('shares (buy, sell)'), 'and keeps its own description');
  });

  it('every success response says in words what it returns (none missing, none generic)', () => {
    const bad: string[] = [];
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses ?? {})) {
          if (!/^(2\d\d|2XX|101)$/.test(status)) continue;
          checked += 1;
          const text = (response.description ?? '').trim();
          const rest = text.replace(/^[^:]*:\s*/, '');
          if (text === '' || GENERIC.test(text) || rest.length < 8) bad.push(`${method.toUpperCase()} ${path} ${status}: "${text}"`);
        }
      }
    }
    assert.ok(checked > 50, `walked ${checked} success responses`);
    assert.deepEqual(bad, []);
  });

  it('every example in the document is valid against its schema with the app\'s validator settings', () => {
    const failures: string[] = [];
    let checked = 0;
    const visit = (node: unknown, where: string): void => {
      if (Array.isArray(node)) return node.forEach((item, i) => visit(item, `${where}/${i}`));
      if (!isObject(node)) return;
      // A media type object: `schema` with `example` or named `examples`.
      if (isObject(node.schema) && (node.example !== undefined || isObject(node.examples))) {
        const validate = validatorFor(node.schema);
        const values = node.example !== undefined ? { example: node.example } : Object.fromEntries(Object.entries(node.examples as Json).map(([k, v]) => [k, (v as { value: unknown }).value]));
        for (const [name, value] of Object.entries(values)) {
          checked += 1;
          if (!validate(value)) failures.push(`${where} example ${name}: ${JSON.stringify(validate.errors)}`);
        }
      }
      // A schema with `examples` (JSON Schema 2020-12 array).
      if (Array.isArray(node.examples) && (typeof node.type === 'string' || node.$ref !== undefined || node.anyOf !== undefined || node.properties !== undefined)) {
        const validate = validatorFor(node);
        for (const value of node.examples) {
          checked += 1;
          if (!validate(value)) failures.push(`${where}: ${JSON.stringify(value)}: ${JSON.stringify(validate.errors)}`);
        }
      }
      for (const [key, value] of Object.entries(node)) if (key !== 'examples' && key !== 'example') visit(value, `${where}/${key}`);
    };
    visit(doc, '#');
    assert.ok(checked >= 8, `checked ${checked} examples`);
    assert.deepEqual(failures, []);
  });

  it('the create-transaction body shows one example per transaction type, and the real route accepts each (2xx)', async () => {
    const media = doc.paths['/v1/portfolios/{id}/transactions']?.post?.requestBody?.content?.['application/json'];
    const examples = media?.examples ?? {};
    const types = ((media?.schema?.properties as Json).type as { anyOf?: { enum?: string[]; const?: string }[] }).anyOf?.map((s) => s.enum?.[0] ?? s.const);
    assert.deepEqual(Object.keys(examples).sort(), [...(types ?? [])].sort(), 'one example per type');
    const portfolioId = await createPortfolio(t, alice, 'USD');
    for (const [name, example] of Object.entries(examples)) {
      assert.equal((example.value as { type: string }).type, name);
      const res = await t.app.inject({ method: 'POST', url: `/v1/portfolios/${portfolioId}/transactions`, headers: alice.headers, payload: example.value as Json });
      assert.ok(res.statusCode >= 200 && res.statusCode < 300, `${name}: ${res.statusCode} ${res.body}`);
    }
  });
});
