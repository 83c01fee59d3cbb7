// Holdings read continuously while their quotes keep lapsing, from a quote provider that
// takes PROVIDER_DELAY_MS to answer (a local fake of Finnhub; the machine has no internet,
// and the simulated provider answers at once, which hides the wait). A quote read in the
// last tenth of its lifetime is refreshed in the background (REFRESH_AHEAD), so no read
// should wait for the provider: p99 well under the provider's delay. Before that, the
// reads that found a quote lapsed waited for its refresh, and p99 was the delay itself
// (docs/performance.md, "Sixth pass"). Also counts the provider calls per symbol and
// minute, which refreshing ahead raises by up to 1 / REFRESH_AHEAD.
import { REFRESH_AHEAD } from '../src/modules/market/market.service.ts';
import { startFakeFinnhub } from '../test/helpers/fake-providers.ts';
import type { BenchContext } from './lib/context.ts';
import { measureLatencyAtRate } from './lib/latency.ts';
import { SEED_SYMBOLS, seedHoldings } from './lib/seed.ts';
import { median } from './lib/stats.ts';

export const description =
  'Warm holdings of 50 transactions read at a fixed rate while their quotes keep lapsing (QUOTE_CACHE_SECONDS=2), from a provider that answers in 150 ms: p50/p99/max latency, and provider calls per symbol and minute.';

const PROVIDER_DELAY_MS = 150;
const QUOTE_CACHE_SECONDS = 2;
const RATE = 200;
const ROUNDS = Number.parseInt(process.env.BENCH_ROUNDS ?? '', 10) || 3;
const ROUND_S = 20;


export async function run(ctx: BenchContext): Promise<void> {
  const finnhub = await startFakeFinnhub();
  try {
    const asOf = String(Math.floor(Date.now() / 1000) - 30);
    for (const symbol of SEED_SYMBOLS) finnhub.quotes.set(symbol, { c: '123.45', pc: '120', t: asOf });
    const server = await ctx.startServer({
      env: {
        ACCESS_TOKEN_TTL: '3600',
        SHED_EVENT_LOOP_DELAY_MS: '0',
        MARKET_DATA_PROVIDER: 'finnhub',
        MARKET_HISTORY_PROVIDER: 'none',
        FINNHUB_API_KEY: 'bench-key-0123456789',
        FINNHUB_BASE_URL: finnhub.url,
        FINNHUB_CALLS_PER_MINUTE: '100000',
        QUOTE_CACHE_SECONDS: String(QUOTE_CACHE_SECONDS),
      },
      startTimeoutMs: 300_000,
    });
    const { token, portfolioId } = await seedHoldings(server.url);
    finnhub.delayMs = PROVIDER_DELAY_MS;
    const options = { url: `${server.url}/v1/portfolios/${portfolioId}/holdings`, headers: { authorization: `Bearer ${token}` }, expectStatus: 200, rate: RATE, connections: 4 };
    await measureLatencyAtRate({ ...options, durationS: 3 }); // warm-up: quotes cached, code compiled
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const callsBefore = finnhub.requests.length;
      const result = await measureLatencyAtRate({ ...options, durationS: ROUND_S });
      const calls = finnhub.requests.length - callsBefore;
      rounds.push({ ...result, provider_calls_per_symbol_minute: (calls / SEED_SYMBOLS.length) * (60 / ROUND_S) });
      ctx.log(`round ${round}: p50 ${Math.round(result.p50_us)} µs, p99 ${Math.round(result.p99_us)} µs, max ${Math.round(result.max_us)} µs, ${calls} provider calls`);
    }
    const p99 = median(rounds.map((r) => r.p99_us));
    const perMinute = median(rounds.map((r) => r.provider_calls_per_symbol_minute));
    ctx.record({
      name: `GET /v1/portfolios/:id/holdings at ${RATE} req/s, quotes lapsing every ${QUOTE_CACHE_SECONDS} s, provider answering in ${PROVIDER_DELAY_MS} ms`,
      unit: 'req/s',
      throughput: RATE,
      p50_ms: Math.round(median(rounds.map((r) => r.p50_us))) / 1000,
      p99_ms: Math.round(p99) / 1000,
      notes:
        `median of ${ROUNDS} rounds of ${ROUND_S} s; p99 ${(p99 / 1000 / PROVIDER_DELAY_MS).toFixed(3)} of the provider's delay ` +
        `(rounds: p99 ${rounds.map((r) => Math.round(r.p99_us)).join(', ')} µs; max ${rounds.map((r) => Math.round(r.max_us)).join(', ')} µs); ` +
        `${perMinute.toFixed(1)} provider calls per symbol and minute (one per lifetime would be ${(60 / QUOTE_CACHE_SECONDS).toFixed(0)}, ` +
        `one per ${REFRESH_AHEAD} of it ${(60 / (QUOTE_CACHE_SECONDS * REFRESH_AHEAD)).toFixed(1)})`,
      details: { rounds, provider_delay_ms: PROVIDER_DELAY_MS, quote_cache_seconds: QUOTE_CACHE_SECONDS, refresh_ahead: REFRESH_AHEAD },
    });
  } finally {
    await finnhub.close();
  }
}
