// Which time-series storage price_bars uses, decided once at start-up and logged
// (`event: "timeseries_storage"`, FAIL-003). With the TimescaleDB extension available
// (PostgreSQL only), price_bars becomes a hypertable and two continuous aggregates hold
// hourly and daily candles built from one-minute bars; continuous aggregates cannot be
// created inside a transaction, so this runs after the migrations, statement by
// statement. Otherwise the plain tables are used and candles are bucketed with date_bin
// over the (symbol, interval, ts) primary key.
import type { Database } from '../../platform/db/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { StoragePath } from './market.repository.ts';

const CONTINUOUS_AGGREGATES = [
  `CREATE MATERIALIZED VIEW IF NOT EXISTS price_bars_1h WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
     SELECT symbol, time_bucket(INTERVAL '1 hour', ts) AS bucket,
       first(open, ts) AS open, max(high) AS high, min(low) AS low, last(close, ts) AS close, sum(volume) AS volume
     FROM price_bars WHERE "interval" = '1m' GROUP BY symbol, bucket WITH NO DATA`,
  `CREATE MATERIALIZED VIEW IF NOT EXISTS price_bars_1d_from_1m WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
     SELECT symbol, time_bucket(INTERVAL '1 day', ts) AS bucket,
       first(open, ts) AS open, max(high) AS high, min(low) AS low, last(close, ts) AS close, sum(volume) AS volume
     FROM price_bars WHERE "interval" = '1m' GROUP BY symbol, bucket WITH NO DATA`,
  `SELECT add_continuous_aggregate_policy('price_bars_1h', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
     schedule_interval => INTERVAL '15 minutes', if_not_exists => true)`,
  `SELECT add_continuous_aggregate_policy('price_bars_1d_from_1m', start_offset => INTERVAL '10 days', end_offset => INTERVAL '1 day',
     schedule_interval => INTERVAL '1 hour', if_not_exists => true)`,
];

export async function setUpTimeseriesStorage(db: Database, logger: Logger): Promise<StoragePath> {
  if (db.kind !== 'postgres') {
    logger.info({ event: 'timeseries_storage', path: 'plain', reason: 'pglite has no TimescaleDB' }, 'price_bars: plain table, candles bucketed with date_bin');
    return 'plain';
  }
  const { rows } = await db.query<{ available: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available`,
  );
  if (rows[0]?.available !== true) {
    logger.info({ event: 'timeseries_storage', path: 'plain', reason: 'timescaledb extension not available' }, 'price_bars: plain table, candles bucketed with date_bin');
    return 'plain';
  }
  try {
    await db.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
    await db.query(`SELECT create_hypertable('price_bars', 'ts', chunk_time_interval => INTERVAL '7 days', if_not_exists => true, migrate_data => true)`);
    for (const statement of CONTINUOUS_AGGREGATES) await db.query(statement);
  } catch (err) {
    // Preloading (shared_preload_libraries) or privileges may be missing: plain tables still work.
    logger.warn({ err, event: 'timeseries_storage', path: 'plain', reason: 'timescaledb set-up failed' }, 'price_bars: TimescaleDB set-up failed; using the plain table');
    return 'plain';
  }
  logger.info({ event: 'timeseries_storage', path: 'timescaledb' }, 'price_bars: TimescaleDB hypertable with 1h and 1d continuous aggregates');
  return 'timescaledb';
}
