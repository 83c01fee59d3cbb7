// Serves the web app (web/, built into web/dist by `npm ci` or `npm start`) from the API
// process: hashed assets under /assets/ with a year-long immutable cache, and index.html for
// the app's own client routes only, so every unknown /v1/… path still answers problem JSON.
//
// The HTML carries its own Content-Security-Policy, stricter than helmet's default (which
// stays in force for /docs and every other route): scripts, styles, fonts and images from
// this origin only, no inline script, and connections only back to this host (HTTP and ws).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { serviceUnavailable } from '../../platform/errors.ts';
import type { App } from '../../platform/http/types.ts';
import type { Logger } from '../../platform/logger.ts';

export const DEFAULT_WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** The client routes of the app (web/src/router.ts); anything else is not the app's. */
export const APP_ROUTES = ['/', '/signin', '/signup', '/watchlist', '/account', '/alerts', '/news', '/admin', '/templates', '/templates/*', '/portfolios/*', '/symbols/*'] as const;

/** A Host header value that is safe to echo into the CSP (host name or IP, optional port). */
const HOST = /^[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?$/;

export function appCsp(host: string | undefined): string {
  const ws = host !== undefined && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

export interface WebDeps {
  logger: Logger;
  /** Directory of the built app; defaults to web/dist of this checkout. */
  distDir?: string;
}

export async function registerWeb(app: App, deps: WebDeps): Promise<void> {
  const dist = deps.distDir ?? DEFAULT_WEB_DIST;
  const indexPath = `${dist}index.html`;
  // Read once: the build does not change while the process runs.
  const indexHtml = existsSync(indexPath) ? readFileSync(indexPath) : undefined;
  if (indexHtml === undefined) {
    deps.logger.warn({ dist }, 'web app not built (run `npm run build:web`); / answers 503');
  } else {
    await app.register(fastifyStatic, {
      root: `${dist}assets`,
      prefix: '/assets/',
      // Vite puts a content hash in every asset name: a changed file gets a new URL.
      immutable: true,
      maxAge: '365d',
      index: false,
      list: false,
      schemaHide: true,
    });
  }

  const sendIndex = (request: FastifyRequest, reply: FastifyReply) => {
    if (indexHtml === undefined) throw serviceUnavailable('web_app_not_built', 'The web app has not been built: run `npm run build:web`.');
    return reply
      .header('content-security-policy', appCsp(request.headers.host))
      .header('cache-control', 'no-cache')
      .type('text/html; charset=utf-8')
      .send(indexHtml);
  };
  for (const url of APP_ROUTES) app.get(url, { schema: { hide: true } }, sendIndex);
}
