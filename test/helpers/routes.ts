// Every route the app registered, read from Fastify's route tree, so tests that must
// cover "every route" (OpenAPI, schemas) include the routes later modules add.
import type { App } from '../../src/platform/http/types.ts';

export interface RegisteredRoute {
  method: string;
  /** Fastify's form: `/v1/portfolios/:id`. */
  url: string;
}

/**
 * Parses `app.printRoutes({ commonPrefix: false })`: one node per line, children indented
 * by four columns under their parent, the methods in parentheses.
 */
export function registeredRoutes(app: App): RegisteredRoute[] {
  const tree = app.printRoutes({ commonPrefix: false });
  const stack: string[] = [];
  const routes: RegisteredRoute[] = [];
  for (const line of tree.split('\n')) {
    const match = /^([\s│├└─]*?)([^\s│├└─].*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (match === null) continue;
    const depth = Math.floor((match[1] ?? '').length / 4);
    const url = (stack[depth - 1] ?? '') + (match[2] ?? '');
    stack[depth] = url;
    stack.length = depth + 1;
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean)) {
      routes.push({ method, url });
    }
  }
  return routes;
}

/** `/v1/portfolios/:id` → `/v1/portfolios/{id}`, as @fastify/swagger writes paths. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
