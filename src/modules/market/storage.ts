// Which time-series storage price_bars uses, decided once at start-up and logged
// (`event: "timeseries_storage"`, FAIL-003):
//   * partitioned — the default on PostgreSQL without TimescaleDB and on PGlite:
//     price_bars partitioned by interval and time (market/partitions.ts) and the
//     rollup table price_rollups kept current on every write (market/rollups.ts);
//   * timescaledb — when the extension is available (PostgreSQL only; the migration
//     then leaves price_bars a plain table): a hypertable with continuous aggregates
//     for 5-minute, hourly and daily candles built from one-minute bars, which the
//     candle queries read instead of price_rollups; retention by add_retention_policy.
//     Continuous aggregates cannot be created inside a transaction, so this runs after
//     the migrations, statement by statement. CI has no TimescaleDB: these statements
//     are checked as text by tests, never run there (docs/market-data.md);
//   * plain — TimescaleDB was available but its set-up failed: one plain table,
//     rollups maintained as for `partitioned`, no partitions.
import type { Database } from '../../platform/db/index.ts';
import type { Logger } from '../../platform/logger.ts';
import { CONTINUOUS_AGGREGATE, type StoragePath } from './market.repository.ts';
import { ROLLUP_STEP, ROLLUP_WIDTHS, type RollupWidth } from './rollups.ts';

/** How often each continuous aggregate is refreshed, and over what trailing window. */
const POLICY: Record<RollupWidth, { start: string; end: string; every: string }> = {
  '5m': { start: '1 day', end: '5 minutes', every: '5 minutes' },
  '1h': { start: '3 days', end: '1 hour', every: '15 minutes' },
  '1d': { start: '10 days', end: '1 day', every: '1 hour' },
};

/**
 * The TimescaleDB set-up, in order: the hypertable, one continuous aggregate per rollup
 * width (first/last by time, exact NUMERIC aggregates) with its refresh policy, and a
 * retention policy when `retentionDays` (the smaller of the two intervals' retentions,
 * since one hypertable holds both) is positive.
 */
export function timescaleStatements(options: { retentionDays: number }): string[] {
  const statements = [
    'CREATE EXTENSION IF NOT EXISTS timescaledb',
    `SELECT create_hypertable('price_bars', 'ts', chunk_time_interval => INTERVAL '7 days', if_not_exists => true, migrate_data => true)`,
  ];
  for (const width of ROLLUP_WIDTHS) {
    const view = CONTINUOUS_AGGREGATE[width];
    statements.push(
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view} WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
         SELECT symbol, time_bucket(INTERVAL '${ROLLUP_STEP[width].sql}', ts, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,
           first(open, ts) AS open, max(high) AS high, min(low) AS low, last(close, ts) AS close, sum(volume) AS volume
         FROM price_bars WHERE "interval" = '1m' GROUP BY symbol, bucket WITH NO DATA`,
      `SELECT add_continuous_aggregate_policy('${view}', start_offset => INTERVAL '${POLICY[width].start}', end_offset => INTERVAL '${POLICY[width].end}',
         schedule_interval => INTERVAL '${POLICY[width].every}', if_not_exists => true)`,
    );
  }
  if (options.retentionDays > 0) {
    statements.push(`SELECT add_retention_policy('price_bars', drop_after => INTERVAL '${Math.trunc(options.retentionDays)} days', if_not_exists => true)`);
  }
  return statements;
}

export async function setUpTimeseriesStorage(db: Database, logger: Logger, options: { retentionDays: number } = { retentionDays: 0 }): Promise<StoragePath> {
  const { rows } = await db.query<{ partitioned: boolean }>(
    `SELECT c.relkind = 'p' AS partitioned FROM pg_class c
     WHERE c.relname = 'price_bars' AND c.relnamespace = current_schema()::regnamespace`,
  );
  if (rows[0]?.partitioned === true) {
    logger.info({ event: 'timeseries_storage', path: 'partitioned' }, 'price_bars: partitioned by interval and time; 5m/1h/1d rollups maintained on write');
    return 'partitioned';
  }
  try {
    for (const statement of timescaleStatements(options)) await db.query(statement);
  } catch (err) {
    // Preloading (shared_preload_libraries) or privileges may be missing: the plain table still works.
    logger.warn({ err, event: 'timeseries_storage', path: 'plain', reason: 'timescaledb set-up failed' }, 'price_bars: TimescaleDB set-up failed; plain table with rollups maintained on write');
    return 'plain';
  }
  logger.info({ event: 'timeseries_storage', path: 'timescaledb' }, 'price_bars: TimescaleDB hypertable with 5m, 1h and 1d continuous aggregates');
  return 'timescaledb';
}
