// The platform's own cost: the cheapest route (liveness) and a request rejected by schema
// validation (400 problem JSON), both through the full hook chain (request id, load
// shedding, helmet, CORS, logging, metrics).
import type { BenchContext } from './lib/context.ts';

export const description =
  'Platform overhead: GET /health/live and a request rejected by body validation (400), on the real server with default settings except per-IP rate limits raised.';

interface OpenApi {
  paths?: Record<string, Record<string, { requestBody?: unknown; security?: unknown[] }>>;
}

const INVALID_BODY = JSON.stringify({ bench_unknown_property: true });

/**
 * The validated 400 needs a route with a body schema. The platform has none of its own,
 * so take a public one from /openapi.json (iterating, so it keeps working as modules
 * come and go) and use the first that answers an unknown property with 400
 * validation_failed.
 */
async function findValidatedRoute(baseUrl: string): Promise<string | undefined> {
  const spec = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as OpenApi;
  const candidates = Object.entries(spec.paths ?? {})
    .filter(([route, ops]) => !route.includes('{') && ops.post?.requestBody !== undefined && (ops.post.security ?? []).length === 0)
    .map(([route]) => route)
    .sort();
  for (const route of candidates) {
    const res = await fetch(`${baseUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: INVALID_BODY });
    const body = (await res.json()) as { code?: string };
    if (res.status === 400 && body.code === 'validation_failed') return route;
  }
  return undefined;
}

export async function run(ctx: BenchContext): Promise<void> {
  // Raise the per-IP limits: autocannon is one client, and we measure the platform, not
  // the limiter answering 429 (it still runs and counts on every request).
  const unlimited = '999999999/60';
  const server = await ctx.startServer({
    env: { RATE_LIMIT_PUBLIC: unlimited, RATE_LIMIT_LOGIN: unlimited, RATE_LIMIT_REGISTER: unlimited, RATE_LIMIT_REFRESH_IP: unlimited },
  });
  await ctx.http('GET /health/live', { url: `${server.url}/health/live`, expectStatus: 200, notes: 'expect 200' });

  const route = await findValidatedRoute(server.url);
  if (route === undefined) throw new Error('no public POST route with a body schema answered 400 validation_failed');
  await ctx.http(`POST ${route} (unknown property → 400)`, {
    url: `${server.url}${route}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: INVALID_BODY,
    expectStatus: 400,
    notes: 'expect 400 validation_failed',
  });
}
