// Stall cases of the operational routes (readiness, metrics), the API documentation, the
// web app's pages and assets, the CORS preflight, and the real-time gateway: a socket with
// the most subscriptions a connection may hold, and the connections API while the user
// holds as many sockets as the pro tier allows.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { connectReady, type WsClient } from '../../test/helpers/ws.ts';
import { APP_ROUTES } from '../../src/modules/web/index.ts';
import { DEMO_SYMBOLS } from '../../src/modules/market/providers/simulated.ts';
import { CANDLE_INTERVALS } from '../../src/modules/market/market.repository.ts';
import { MAX_CHANNELS_PER_MESSAGE } from '../../src/modules/realtime/realtime.schemas.ts';
import { ROOT } from './server.ts';
import { needed, sleep, type Answer, type Case, type CaseGroup, type StallsFixture } from './stalls.ts';

/** WS_MAX_SUBSCRIPTIONS' default and PRO_WS_CONNECTIONS' default. */
const MAX_SUBSCRIPTIONS = 100;
const PRO_SOCKETS = 10;
/** How long the measured socket stays open receiving pushes (the simulation ticks each symbol every second). */
const OPEN_MS = 2000;

/** The largest file in a directory, by size. */
function largestFile(dir: string): string {
  const files = readdirSync(dir).filter((name) => statSync(path.join(dir, name)).isFile());
  const largest = files.sort((a, b) => statSync(path.join(dir, b)).size - statSync(path.join(dir, a)).size)[0];
  if (largest === undefined) throw new Error(`${dir} is empty`);
  return largest;
}

const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

/** Subscribes `client` to `channels` (50 per message) and waits until every subscribe has been handled. */
async function subscribeAll(client: WsClient, channels: string[]): Promise<void> {
  for (let i = 0; i < channels.length; i += MAX_CHANNELS_PER_MESSAGE) client.send({ type: 'subscribe', channels: channels.slice(i, i + MAX_CHANNELS_PER_MESSAGE) });
  await client.sync();
  const refused = client.messages.filter((m) => m.type === 'error');
  if (refused.length > 0) throw new Error(`subscriptions refused: ${JSON.stringify(refused.slice(0, 3))}`);
}

export function platformCases(f: StallsFixture): CaseGroup {
  const { api, admin } = f;
  const token = f.user.token;
  const wsUrl = `${f.server.url.replace(/^http/, 'ws')}/v1/ws`;
  const assets = path.join(ROOT, 'web/dist/assets');
  const asset = largestFile(assets);
  const docsDir = path.join(ROOT, 'node_modules/@fastify/swagger-ui/static');
  const docsAsset = largestFile(docsDir);
  const market = [
    ...DEMO_SYMBOLS.map((s) => `quotes:${s}`),
    ...DEMO_SYMBOLS.map((s) => `news:${s}`),
    ...DEMO_SYMBOLS.flatMap((s) => CANDLE_INTERVALS.map((i) => `candles:${s}:${i}`)),
  ];
  // The large portfolio first (valued on subscribe and on every quote of a held symbol), then market channels.
  const channels = [`portfolio:${f.big}`, `portfolio:${f.old}`, 'alerts', ...market].slice(0, MAX_SUBSCRIPTIONS);
  const held: Array<WsClient & { connectionId: string }> = [];
  let connectionId = '';

  const page = (route: string, label = `GET ${route}`): Case => ({
    label: `${label} (the web app's index.html)`,
    routes: [`GET ${route}`],
    send: () => api.call('GET', route.replace('*', 'x'), undefined),
    expect: [200],
  });
  const pages = APP_ROUTES.map((route) => {
    if (route === '/portfolios/*') return { ...page(route), send: () => api.call('GET', `/portfolios/${f.big}`, undefined) };
    if (route === '/symbols/*') return { ...page(route), send: () => api.call('GET', '/symbols/AAPL', undefined) };
    return page(route);
  });

  const cases: Case[] = [
    { label: 'GET /health/ready (an admin: component details)', routes: ['GET /health/ready'], send: () => api.call('GET', '/health/ready', admin), expect: [200] },
    { label: 'GET /metrics', routes: ['GET /metrics'], send: () => api.call('GET', '/metrics', f.metricsToken), expect: [200] },
    {
      label: 'OPTIONS * (CORS preflight of an allowed origin)',
      routes: ['OPTIONS *'],
      send: () =>
        fetch(`${f.server.url}/v1/portfolios`, {
          method: 'OPTIONS',
          headers: { origin: 'http://127.0.0.1:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
        }),
      expect: [204],
    },
    { label: 'GET /docs', routes: ['GET /docs'], send: () => fetch(`${f.server.url}/docs`, { redirect: 'manual' }), expect: [200, 302] },
    { label: 'GET /docs/static/index.html', routes: ['GET /docs/static/index.html'], send: () => api.call('GET', '/docs/static/index.html', undefined), expect: [200] },
    { label: 'GET /docs/static/swagger-initializer.js', routes: ['GET /docs/static/swagger-initializer.js'], send: () => api.call('GET', '/docs/static/swagger-initializer.js', undefined), expect: [200] },
    {
      label: `GET /docs/static/* (${docsAsset}, ${mib(statSync(path.join(docsDir, docsAsset)).size)}: the largest)`,
      routes: ['GET /docs/static/*'],
      send: () => api.call('GET', `/docs/static/${docsAsset}`, undefined),
      expect: [200],
    },
    { label: 'GET /docs/json', routes: ['GET /docs/json'], send: () => api.call('GET', '/docs/json', undefined), expect: [200] },
    { label: 'GET /docs/yaml', routes: ['GET /docs/yaml'], send: () => api.call('GET', '/docs/yaml', undefined), expect: [200] },
    ...pages,
    {
      label: `GET /assets/* (${asset}, ${mib(statSync(path.join(assets, asset)).size)}: the largest)`,
      routes: ['GET /assets/*'],
      send: () => api.call('GET', `/assets/${asset}`, undefined),
      expect: [200],
    },
    {
      label: `GET /v1/ws (upgrade, ${channels.length} subscriptions: the portfolio of ${f.rows.toLocaleString('en-US')} transactions valued on subscribe, alerts, quotes, news and candles; open ${OPEN_MS / 1000} s)`,
      routes: ['GET /v1/ws'],
      repeat: f.heavyRepeat,
      send: async (): Promise<Answer> => {
        const client = await connectReady(wsUrl, token);
        try {
          await subscribeAll(client, channels);
          await sleep(OPEN_MS);
        } finally {
          client.close();
          await client.closed;
        }
        const received = client.messages.length;
        return { status: 101, text: () => Promise.resolve(`${received} messages`) };
      },
      expect: [101],
    },
    {
      label: `GET /v1/me/connections (${PRO_SOCKETS} sockets, the pro cap, of ${MAX_SUBSCRIPTIONS} subscriptions each)`,
      routes: ['GET /v1/me/connections'],
      prepare: async () => {
        while (held.length < PRO_SOCKETS) {
          const client = await connectReady(wsUrl, token);
          held.push(client);
          await subscribeAll(client, market.slice(0, MAX_SUBSCRIPTIONS));
        }
      },
      send: () => api.call('GET', '/v1/me/connections', token),
      expect: [200],
    },
    {
      label: 'DELETE /v1/me/connections/:id',
      routes: ['DELETE /v1/me/connections/:id'],
      prepare: () => {
        connectionId = held.pop()?.connectionId ?? '';
      },
      send: () => api.call('DELETE', `/v1/me/connections/${needed(connectionId, 'open socket')}`, token),
      expect: [204],
      after: async () => {
        for (const client of held.splice(0)) {
          client.close();
          await client.closed;
        }
      },
    },
  ];
  return { cases };
}
