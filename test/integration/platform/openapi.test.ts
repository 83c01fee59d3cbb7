// FAIL-022: the OpenAPI document is generated from the schemas that validate, and lists
// every route the app registers (read from the router, so routes added by later modules
// are checked without editing this file).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from 'typebox';
import { problemResponses } from '../../../src/platform/http/problem.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { APP_ROUTES } from '../../../src/modules/web/index.ts';
import { openApiPath, registeredRoutes } from '../../helpers/routes.ts';

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  requestBody?: { content?: Record<string, { schema?: { additionalProperties?: unknown } }> };
  parameters?: { in: string; name: string; schema?: unknown }[];
  tags?: string[];
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

// Infrastructure that is not part of the API: the docs page itself, the document, the
// CORS preflight catch-all, and the web app (its pages and hashed assets).
const WEB_PAGES = new Set<string>(APP_ROUTES);
const NOT_API = (method: string, url: string) =>
  method === 'HEAD' ||
  method === 'OPTIONS' ||
  url === '/openapi.json' ||
  url.startsWith('/docs') ||
  url === '*' ||
  WEB_PAGES.has(url) ||
  url.startsWith('/assets/') ||
  // registeredRoutes reads the app's wildcard routes (/assets/*, /portfolios/*, /symbols/*,
  // under parents with no route of their own) as `/*`; no API route is a bare wildcard.
  url === '/*' ||
  // ... and a wildcard under a page that is a route itself (/templates/*) as `/templates*`.
  (url.endsWith('*') && WEB_PAGES.has(`${url.slice(0, -1)}/*`));

describe('OpenAPI', () => {
  let t: TestApp;
  let doc: OpenApiDoc;
  before(async () => {
    t = await buildTestApp({
      beforeReady: (app) => {
        // A route with every part declared, to check that params, query and body reach the document.
        app.post(
          '/test/openapi/:id',
          {
            schema: {
              tags: ['test'],
              params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
              querystring: Type.Object({ dry_run: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
              body: Type.Object({ amount: Type.String() }, { additionalProperties: false }),
              response: { 200: Type.Object({ amount: Type.String() }), ...problemResponses },
            },
          },
          (request) => ({ amount: request.body.amount }),
        );
      },
    });
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    doc = res.json<OpenApiDoc>();
  });
  after(() => t.close());

  it('FAIL-022: /openapi.json is an OpenAPI 3 document with the bearer scheme', () => {
    assert.match(doc.openapi, /^3\./);
    assert.ok(doc.components?.securitySchemes?.bearer, 'bearer security scheme declared');
  });

  it('FAIL-022: every registered route appears with a success response schema and problem responses', () => {
    const routes = registeredRoutes(t.app).filter((r) => !NOT_API(r.method, r.url));
    assert.ok(routes.some((r) => r.url === '/health/live'), 'route tree was read');
    assert.ok(routes.length >= 4);
    const missing: string[] = [];
    for (const route of routes) {
      const label = `${route.method} ${route.url}`;
      const op = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      if (op === undefined) {
        missing.push(`${label}: not in the document`);
        continue;
      }
      const responses = op.responses ?? {};
      const success = Object.entries(responses).filter(([status]) => /^(2\d\d|2XX|101)$/.test(status));
      if (success.length === 0) missing.push(`${label}: no success response declared`);
      for (const [status, response] of success) {
        if (status === '204' || status === '101') continue;
        const schemas = Object.values(response.content ?? {}).map((c) => c.schema);
        if (schemas.length === 0 || schemas.some((s) => s === undefined)) missing.push(`${label}: response ${status} has no schema`);
      }
      if (responses['4XX'] === undefined && !Object.keys(responses).some((s) => s.startsWith('4'))) {
        missing.push(`${label}: no 4xx problem response declared`);
      }
      if (['POST', 'PUT', 'PATCH'].includes(route.method) && op.requestBody !== undefined) {
        for (const [type, content] of Object.entries(op.requestBody.content ?? {})) {
          if (type.includes('json') && content.schema?.additionalProperties !== false) {
            missing.push(`${label}: body schema allows unknown properties`);
          }
        }
      }
      const declaredParams = new Set((op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name));
      for (const param of route.url.matchAll(/:([A-Za-z0-9_]+)/g)) {
        if (!declaredParams.has(param[1] ?? '')) missing.push(`${label}: path parameter ${param[1]} has no schema`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('FAIL-022: params, query and body schemas of a route are the ones that validate', async () => {
    const op = doc.paths['/test/openapi/{id}']?.post;
    assert.ok(op);
    const params = op.parameters ?? [];
    assert.deepEqual(
      params.map((p) => `${p.in}:${p.name}`).sort(),
      ['path:id', 'query:dry_run'],
    );
    assert.deepEqual(Object.keys(op.requestBody?.content ?? {}), ['application/json']);
    // …and the same schema rejects what the document says is not allowed.
    const res = await t.app.inject({ method: 'POST', url: '/test/openapi/not-a-uuid', payload: { amount: '1' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ errors: { field: string }[] }>().errors[0]?.field, 'params.id');
  });

  it('FAIL-022: /docs serves the browsable page and its assets', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /swagger/i);
    const assets = [...res.body.matchAll(/(?:src|href)="\.?\/?([^"]+\.(?:js|css))"/g)].map((m) => m[1] ?? '');
    assert.ok(assets.length > 0, 'the page references its scripts');
    for (const asset of assets) {
      const url = asset.startsWith('/') ? asset : `/docs/${asset.replace(/^docs\//, '')}`;
      const a = await t.app.inject({ method: 'GET', url });
      assert.equal(a.statusCode, 200, `${url} loads`);
    }
    const init = await t.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    assert.equal(init.statusCode, 200);
    const json = await t.app.inject({ method: 'GET', url: '/docs/json' });
    assert.equal(json.statusCode, 200);
    assert.deepEqual(json.json<OpenApiDoc>().paths, doc.paths);
  });

  it('FinanceHub\'s name on /docs, and every response has a real description (never "Default Response")', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/docs' });
    assert.match(page.body, /<title>FinanceHub API docs<\/title>/);
    const text = JSON.stringify(doc);
    assert.equal(text.includes('Default Response'), false, 'no response is described as "Default Response"');
    const login = (doc.paths['/v1/auth/login'] as Record<string, { responses: Record<string, { description: string }> }> | undefined)?.post;
    assert.match(login?.responses['200']?.description ?? '', /^OK: /);
  });
});
