// The start-up banner `financehub serve` prints for a person at a terminal (pretty logs):
// where the server is, where its data lives, where prices come from, how to get the
// first account and where the API is described. Not printed with JSON logs, where the
// `listening` log line carries the same facts for machines.
import { resolve } from 'node:path';
import type { Config } from '../config.ts';

const PROVIDER_TEXT: Record<Config['marketDataProvider'], string> = {
  yahoo: "Yahoo's chart API (real prices, no key)",
  finnhub: 'Finnhub (real prices, FINNHUB_API_KEY)',
  simulated: 'SIMULATED demo prices (not real; every value marked "simulated": true)',
  none: 'none (stored prices and CSV imports only)',
};

/** Where the database is, without credentials. */
export function dataLocation(config: Pick<Config, 'databaseUrl' | 'dataDir'>): string {
  if (config.databaseUrl !== undefined) {
    const url = new URL(config.databaseUrl);
    return `PostgreSQL at ${url.hostname}${url.port === '' ? '' : `:${url.port}`}${url.pathname}`;
  }
  if (config.dataDir === 'memory') return 'in memory (DATA_DIR=memory: everything is lost on exit)';
  return `${resolve(config.dataDir)} (embedded PGlite; back it up with the server stopped)`;
}

export function startBanner(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'marketDataProvider' | 'marketHistoryProvider'>, url: string): string {
  const history = config.marketHistoryProvider === config.marketDataProvider ? '' : `; history from ${PROVIDER_TEXT[config.marketHistoryProvider]}`;
  return [
    '',
    `  FinanceHub is running at ${url}/`,
    '',
    `  Data:         ${dataLocation(config)}`,
    `  Market data:  ${PROVIDER_TEXT[config.marketDataProvider]}${history}`,
    `  First user:   open ${url}/ and create an account; for an administrator, stop the`,
    `                server and run: printf '%s\\n' "$PW" | npm run financehub -- users create --admin --email you@example.com`,
    `                (or start with ADMIN_EMAIL and ADMIN_PASSWORD set)`,
    `  API docs:     ${url}/docs (OpenAPI at ${url}/openapi.json)`,
    '',
    '  Logs follow (LOG_FORMAT=json for JSON lines). Ctrl+C stops the server.',
    '',
  ].join('\n');
}
