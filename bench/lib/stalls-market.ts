// Stall cases of the market, watchlist, news, alerts and dead-letter routes, on the
// simulated provider (its demo universe of 15 symbols is all it prices). The alerts set-up
// fills the tier cap with alerts that fire at once; their webhook points at a closed local
// port, so every delivery fails into the dead-letter queue the admin routes then page through.
import { freePort } from './server.ts';
import { DEMO_SYMBOLS } from '../../src/modules/market/providers/simulated.ts';
import { needed, sleep, type Case, type CaseGroup, type StallsFixture } from './stalls.ts';

/** Alerts a pro user may keep (PRO_ALERTS' default). */
const ALERTS_CAP = 200;
/** The longest webhook URL the API accepts. */
const WEBHOOK_MAX = 2048;
/** How long the set-up waits for the alerts to fire and their deliveries to fail. */
const FIRING_TIMEOUT_MS = 300_000;
const PAGE = 100;

/** 15 simulated symbols and 35 the provider does not know: the 50 a quotes or news request may name. */
const FIFTY = [...DEMO_SYMBOLS, ...Array.from({ length: 50 - DEMO_SYMBOLS.length }, (_, i) => `NOSUCH${i + 1}`)];

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export async function marketCases(f: StallsFixture): Promise<CaseGroup> {
  const { api, admin } = f;
  const token = f.user.token;
  const port = await freePort(); // nothing listens there: every webhook POST fails
  const prefix = `http://127.0.0.1:${port}/hook/`;
  const webhook = `${prefix}${'a'.repeat(WEBHOOK_MAX - prefix.length)}`;

  // First, before anything asks for a demo quote: each alert fires on its symbol's first quote.
  f.log(`${f.mode}: ${ALERTS_CAP - f.repeat} alerts that fire, each delivery failing into the dead-letter queue …`);
  await api.json('PUT', '/v1/me/alert-webhook', token, 200, { url: webhook });
  const seeded = ALERTS_CAP - f.repeat;
  let created = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (created < seeded) {
        const symbol = DEMO_SYMBOLS[created++ % DEMO_SYMBOLS.length]!;
        await api.json('POST', '/v1/alerts', token, 201, { kind: 'price_above', symbol, threshold: '0.01', mode: 'once' });
      }
    }),
  );

  const countPages = async (route: string, auth: string): Promise<number> => {
    let count = 0;
    let cursor: string | null = null;
    do {
      const page: Page<unknown> = await api.json<Page<unknown>>('GET', `${route}?limit=${PAGE}${cursor === null ? '' : `&cursor=${cursor}`}`, auth, 200);
      count += page.items.length;
      cursor = page.next_cursor;
    } while (cursor !== null);
    return count;
  };
  const wantEvents = Math.min(PAGE, seeded);
  const wantDead = Math.min(PAGE + 2 * f.repeat, seeded);
  const ready = (async () => {
    const deadline = Date.now() + FIRING_TIMEOUT_MS;
    for (;;) {
      const events = await countPages('/v1/alerts/events', token);
      const dead = await countPages('/v1/admin/jobs/dead-letter', admin);
      if (events >= wantEvents && dead >= wantDead) return;
      if (Date.now() > deadline) {
        f.log(`${f.mode}: after ${FIRING_TIMEOUT_MS / 1000} s only ${events} alert events and ${dead} dead letters (wanted ${wantEvents} and ${wantDead})`);
        return;
      }
      await sleep(2000);
    }
  })().catch((err: unknown) => f.log(`${f.mode}: waiting for the alert deliveries failed: ${err instanceof Error ? err.message : String(err)}`));

  // Symbols whose history no request has filled yet: one per repetition of a cold fill.
  const dailyCold = DEMO_SYMBOLS.slice(0, 3);
  const minuteCold = DEMO_SYMBOLS.slice(3, 6);
  const watchReserved = DEMO_SYMBOLS.slice(-Math.min(f.repeat, DEMO_SYMBOLS.length));
  for (const symbol of DEMO_SYMBOLS) {
    if (!watchReserved.includes(symbol)) await api.json('PUT', `/v1/me/watchlist/${symbol}`, token, 201);
  }

  let symbol = '';
  const turn = { daily: 0, minute: 0, put: 0, remove: 0 };
  let alertId = '';
  let deadId = '';
  const posted: string[] = [];
  const firstAlert = async () => (await api.json<Page<{ id: string }>>('GET', '/v1/alerts?limit=1', token, 200)).items[0]?.id ?? '';
  const firstDead = async () => {
    const id = (await api.json<Page<{ id: string }>>('GET', '/v1/admin/jobs/dead-letter?limit=1', admin, 200)).items[0]?.id;
    if (id === undefined) throw new Error('the dead-letter queue is empty: the alert deliveries never failed');
    return id;
  };
  const newsFrom = new Date(Date.now() - 100 * 86_400_000).toISOString();
  const newsRoute = `/v1/news?symbols=${FIFTY.join(',')}&from=${newsFrom}&limit=${PAGE}`;

  const cases: Case[] = [
    {
      label: 'GET /v1/market/quotes?symbols=… (50 symbols: 15 simulated, 35 unknown)',
      routes: ['GET /v1/market/quotes'],
      send: () => api.call('GET', `/v1/market/quotes?symbols=${FIFTY.join(',')}`, token),
      expect: [200],
    },
    {
      label: 'GET /v1/market/search?q=simulated (every instrument matches)',
      routes: ['GET /v1/market/search'],
      send: () => api.call('GET', '/v1/market/search?q=simulated', token),
      expect: [200],
    },
    {
      label: 'GET /v1/market/candles/:symbol?interval=1d&limit=5000 (a symbol never asked: fills 20 years of simulated daily bars)',
      routes: ['GET /v1/market/candles/:symbol'],
      repeat: dailyCold.length,
      prepare: () => {
        symbol = dailyCold[turn.daily++ % dailyCold.length]!;
      },
      send: () => api.call('GET', `/v1/market/candles/${symbol}?interval=1d&limit=5000`, token),
      expect: [200],
    },
    {
      label: 'GET /v1/market/candles/:symbol?interval=1m&limit=5000 (a symbol never asked: fills 5 days of simulated minute bars)',
      routes: ['GET /v1/market/candles/:symbol'],
      repeat: minuteCold.length,
      prepare: () => {
        symbol = minuteCold[turn.minute++ % minuteCold.length]!;
      },
      send: () => api.call('GET', `/v1/market/candles/${symbol}?interval=1m&limit=5000`, token),
      expect: [200],
    },
    {
      label: 'PUT /v1/me/watchlist/:symbol (checked with the provider)',
      routes: ['PUT /v1/me/watchlist/:symbol'],
      repeat: watchReserved.length,
      prepare: () => {
        symbol = watchReserved[turn.put++ % watchReserved.length]!;
      },
      send: () => api.call('PUT', `/v1/me/watchlist/${symbol}`, token),
      expect: [201],
    },
    {
      label: `GET /v1/me/watchlist (${DEMO_SYMBOLS.length} symbols: the whole simulated universe)`,
      routes: ['GET /v1/me/watchlist'],
      send: () => api.call('GET', '/v1/me/watchlist', token),
      expect: [200],
    },
    {
      label: 'DELETE /v1/me/watchlist/:symbol',
      routes: ['DELETE /v1/me/watchlist/:symbol'],
      repeat: watchReserved.length,
      prepare: () => {
        symbol = watchReserved[turn.remove++ % watchReserved.length]!;
      },
      send: () => api.call('DELETE', `/v1/me/watchlist/${symbol}`, token),
      expect: [204],
    },
    {
      label: `GET /v1/news?symbols=…&limit=${PAGE} (50 symbols, 100 days; the first request fetches the news of 20 and scores each item's sentiment)`,
      routes: ['GET /v1/news'],
      // A symbol's news is fetched at most every 15 minutes per instance: only the first request does it.
      repeat: 1,
      send: () => api.call('GET', newsRoute, token),
      expect: [200],
    },
    { label: `GET /v1/news?symbols=…&limit=${PAGE} (the same, stored)`, routes: ['GET /v1/news'], send: () => api.call('GET', newsRoute, token), expect: [200] },
    {
      label: `POST /v1/alerts (the last of the pro cap of ${ALERTS_CAP})`,
      routes: ['POST /v1/alerts'],
      send: () => api.call('POST', '/v1/alerts', token, { kind: 'price_above', symbol: 'AAPL', interval: '1d', threshold: '999999999.99', mode: 'every_time', cooldown_seconds: 30 * 86_400 }),
      settle: (body) => void posted.push((JSON.parse(body) as { id: string }).id),
      expect: [201],
    },
    { label: `GET /v1/alerts?limit=${PAGE} (${ALERTS_CAP} alerts)`, routes: ['GET /v1/alerts'], send: () => api.call('GET', `/v1/alerts?limit=${PAGE}`, token), expect: [200] },
    {
      label: 'GET /v1/alerts/:id',
      routes: ['GET /v1/alerts/:id'],
      prepare: async () => {
        alertId = await firstAlert();
      },
      send: () => api.call('GET', `/v1/alerts/${needed(alertId, 'alert')}`, token),
      expect: [200],
    },
    {
      label: 'PATCH /v1/alerts/:id (every field: a fired alert active again)',
      routes: ['PATCH /v1/alerts/:id'],
      send: () => api.call('PATCH', `/v1/alerts/${alertId}`, token, { status: 'active', threshold: '999999999.99', mode: 'every_time', cooldown_seconds: 30 * 86_400 }),
      expect: [200],
    },
    { label: `GET /v1/alerts/events?limit=${PAGE} (${seeded} events)`, routes: ['GET /v1/alerts/events'], send: () => api.call('GET', `/v1/alerts/events?limit=${PAGE}`, token), expect: [200] },
    {
      // An alert fires once per crossing of its threshold; the simulated prices give each one event here.
      label: 'GET /v1/alerts/:id/events (one event)',
      routes: ['GET /v1/alerts/:id/events'],
      send: () => api.call('GET', `/v1/alerts/${alertId}/events?limit=${PAGE}`, token),
      expect: [200],
    },
    {
      label: `PUT /v1/me/alert-webhook (${WEBHOOK_MAX.toLocaleString('en-US')}-character URL)`,
      routes: ['PUT /v1/me/alert-webhook'],
      send: () => api.call('PUT', '/v1/me/alert-webhook', token, { url: webhook }),
      expect: [200],
    },
    {
      label: `GET /v1/admin/jobs/dead-letter?limit=${PAGE} (${seeded} failed webhook deliveries)`,
      routes: ['GET /v1/admin/jobs/dead-letter'],
      send: () => api.call('GET', `/v1/admin/jobs/dead-letter?limit=${PAGE}`, admin),
      expect: [200],
    },
    {
      label: 'GET /v1/admin/jobs/dead-letter/:id',
      routes: ['GET /v1/admin/jobs/dead-letter/:id'],
      prepare: async () => {
        deadId = await firstDead();
      },
      send: () => api.call('GET', `/v1/admin/jobs/dead-letter/${deadId}`, admin),
      expect: [200],
    },
    {
      label: 'POST /v1/admin/jobs/dead-letter/:id/retry (and the re-driven delivery failing again)',
      routes: ['POST /v1/admin/jobs/dead-letter/:id/retry'],
      prepare: async () => {
        deadId = await firstDead();
      },
      send: () => api.call('POST', `/v1/admin/jobs/dead-letter/${deadId}/retry`, admin),
      // The re-driven job runs within a poll interval or two (JOBS_POLL_INTERVAL_MS).
      settle: () => sleep(1500),
      expect: [202],
    },
    {
      label: 'DELETE /v1/admin/jobs/dead-letter/:id',
      routes: ['DELETE /v1/admin/jobs/dead-letter/:id'],
      prepare: async () => {
        deadId = await firstDead();
      },
      send: () => api.call('DELETE', `/v1/admin/jobs/dead-letter/${deadId}`, admin),
      expect: [204],
    },
    {
      label: 'DELETE /v1/alerts/:id',
      routes: ['DELETE /v1/alerts/:id'],
      prepare: async () => {
        alertId = posted.pop() ?? (await firstAlert());
      },
      send: () => api.call('DELETE', `/v1/alerts/${alertId}`, token),
      expect: [204],
    },
    {
      label: 'DELETE /v1/me/alert-webhook',
      routes: ['DELETE /v1/me/alert-webhook'],
      prepare: async () => void (await api.json('PUT', '/v1/me/alert-webhook', token, 200, { url: webhook })),
      send: () => api.call('DELETE', '/v1/me/alert-webhook', token),
      expect: [204],
    },
  ];
  return { cases, ready };
}
