// Liveness is public and says only that the process is up. Readiness tells anonymous
// callers ok/unavailable; operators (HEALTH_TOKEN or an admin) also get component
// details. Metrics need METRICS_TOKEN or an admin (FAIL-018).
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { unauthorized } from '../../platform/errors.ts';
import { problemResponses, ProblemSchema } from '../../platform/http/problem.ts';
import type { App } from '../../platform/http/types.ts';
import type { Metrics } from '../../platform/metrics.ts';
import type { HealthService } from './health.service.ts';

export interface HealthRouteDeps {
  health: HealthService;
  metrics: Metrics;
  healthToken: string | undefined;
  metricsToken: string | undefined;
  /** True when the request carries an admin's access token (wired by the auth module). */
  isAdmin: (request: FastifyRequest) => Promise<boolean>;
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return header.slice('Bearer '.length).trim();
}

/** Constant-time comparison of the presented token with the configured one. */
function tokenMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (presented === undefined || expected === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

const Component = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  latency_ms: Type.Integer(),
  error: Type.Optional(Type.String()),
});
const Detailed = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('unavailable')]),
  components: Type.Optional(Type.Array(Component)),
});

export function healthRoutes(app: App, deps: HealthRouteDeps): void {
  const isOperator = async (request: FastifyRequest, token: string | undefined) =>
    tokenMatches(bearer(request), token) || (await deps.isAdmin(request));

  app.get(
    '/health/live',
    {
      // An orchestrator probes this every few seconds: its answers are counted in /metrics,
      // not written as a log line each (errors still are).
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process is up',
        response: { 200: Type.Object({ status: Type.Literal('ok') }), ...problemResponses },
      },
    },
    () => ({ status: 'ok' as const }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness; component details for operators',
        // A 503 is either "not ready" or a problem (load shedding answers before the handler).
        response: { 200: Detailed, 503: Type.Union([Detailed, ProblemSchema]), ...problemResponses },
      },
    },
    async (request, reply) => {
      const readiness = await deps.health.readiness();
      const status = readiness.ready ? ('ok' as const) : ('unavailable' as const);
      void reply.code(readiness.ready ? 200 : 503);
      if (await isOperator(request, deps.healthToken)) return { status, components: readiness.components };
      return { status };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (METRICS_TOKEN or admin)',
        produces: ['text/plain'],
        response: { 200: Type.String(), ...problemResponses },
      },
    },
    async (request, reply) => {
      if (!(await isOperator(request, deps.metricsToken))) throw unauthorized('metrics_unauthorized', 'A metrics token is required.');
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
  );
}
