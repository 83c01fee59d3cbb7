// Preloaded into a benchmark's server (`node --import bench/lib/route-recorder.ts
// bin/financehub.js serve`, see recordedServerScript): records every route the app
// registers, as Fastify sees it, and writes the list to BENCH_ROUTES_FILE when the app is
// ready. A benchmark that must cover "every route" reads the list from there, so a route
// added later is listed without editing the benchmark. It only adds an onRoute hook, which
// runs while routes are registered: requests take the same path as in `financehub serve`.
import { subscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import type { FastifyInstance, RouteOptions } from 'fastify';

export interface RecordedRoute {
  method: string;
  /** Fastify's form, prefix included: `/v1/portfolios/:id`, `/assets/*`, `*`. */
  url: string;
}

const file = process.env.BENCH_ROUTES_FILE;
if (file !== undefined && file !== '') {
  const routes: RecordedRoute[] = [];
  // Fastify publishes every new instance here, before any plugin or route is registered.
  subscribe('fastify.initialization', (message) => {
    const { fastify } = message as { fastify: FastifyInstance };
    // Child plugin contexts inherit hooks, so routes registered inside plugins are seen too.
    fastify.addHook('onRoute', (route: RouteOptions) => {
      for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ method, url: route.url });
    });
    fastify.addHook('onReady', (done) => {
      writeFileSync(file, JSON.stringify(routes));
      done();
    });
  });
}
