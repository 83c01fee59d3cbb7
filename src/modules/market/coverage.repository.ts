// SQL for history coverage (which ranges of a symbol's history were asked of the provider
// or imported) and for the fill lease (one fill per symbol and resolution at a time,
// across instances). Kept apart from the bar storage in market.repository.ts.
import type { Database } from '../../platform/db/index.ts';
import type { BarInterval } from './providers/provider.ts';

export interface TimeRange {
  start: Date;
  end: Date;
}

/** The parts of [start, end) that `covered` (sorted, non-overlapping) leaves open, in order. */
export function gapsIn(range: TimeRange, covered: readonly TimeRange[]): TimeRange[] {
  const gaps: TimeRange[] = [];
  let cursor = range.start.getTime();
  const end = range.end.getTime();
  for (const c of covered) {
    if (cursor >= end) break;
    const cs = c.start.getTime();
    const ce = c.end.getTime();
    if (ce <= cursor) continue;
    if (cs > cursor) gaps.push({ start: new Date(cursor), end: new Date(Math.min(cs, end)) });
    cursor = Math.max(cursor, ce);
  }
  if (cursor < end) gaps.push({ start: new Date(cursor), end: new Date(end) });
  return gaps;
}

export function createCoverageRepository(db: Database) {
  return {
    /** Covered ranges of (symbol, interval) that overlap or touch [start, end), oldest first. */
    async covered(symbol: string, interval: BarInterval, range: TimeRange): Promise<TimeRange[]> {
      const { rows } = await db.query<{ range_start: Date; range_end: Date }>(
        `SELECT range_start, range_end FROM price_coverage
         WHERE symbol = $1 AND "interval" = $2 AND range_start <= $4 AND range_end >= $3
         ORDER BY range_start`,
        [symbol, interval, range.start, range.end],
      );
      return rows.map((r) => ({ start: r.range_start, end: r.range_end }));
    },

    /** Marks [start, end) covered, merged with every range it overlaps or touches (one transaction). */
    async markCovered(symbol: string, interval: BarInterval, range: TimeRange): Promise<void> {
      if (range.end.getTime() <= range.start.getTime()) return;
      await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ start: Date; end: Date }>(
          `DELETE FROM price_coverage
           WHERE symbol = $1 AND "interval" = $2 AND range_start <= $4 AND range_end >= $3
           RETURNING range_start AS start, range_end AS "end"`,
          [symbol, interval, range.start, range.end],
        );
        let start = range.start.getTime();
        let end = range.end.getTime();
        for (const r of rows) {
          start = Math.min(start, r.start.getTime());
          end = Math.max(end, r.end.getTime());
        }
        await tx.query(
          `INSERT INTO price_coverage (symbol, "interval", range_start, range_end) VALUES ($1, $2, $3, $4)
           ON CONFLICT (symbol, "interval", range_start) DO UPDATE SET range_end = GREATEST(price_coverage.range_end, EXCLUDED.range_end)`,
          [symbol, interval, new Date(start), new Date(end)],
        );
      });
    },

    /** Takes the fill lease of (symbol, interval) for `holder` until `expiresAt` unless someone else holds an unexpired one. */
    async tryLease(symbol: string, interval: BarInterval, holder: string, now: Date, expiresAt: Date): Promise<boolean> {
      const { rows } = await db.query<{ holder: string }>(
        `INSERT INTO price_fill_leases (symbol, "interval", holder, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (symbol, "interval") DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
         WHERE price_fill_leases.expires_at <= $5 OR price_fill_leases.holder = EXCLUDED.holder
         RETURNING holder`,
        [symbol, interval, holder, expiresAt, now],
      );
      return rows[0]?.holder === holder;
    },

    /** Whether any stored bar of (symbol, interval) in [start, end) came from the simulation. */
    async anySimulated(symbol: string, interval: BarInterval, range: TimeRange): Promise<boolean> {
      const { rows } = await db.query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM price_bars WHERE symbol = $1 AND "interval" = $2 AND ts >= $3 AND ts < $4 AND source = 'simulated') AS found`,
        [symbol, interval, range.start, range.end],
      );
      return rows[0]?.found === true;
    },

    async releaseLease(symbol: string, interval: BarInterval, holder: string): Promise<void> {
      await db.query(`DELETE FROM price_fill_leases WHERE symbol = $1 AND "interval" = $2 AND holder = $3`, [symbol, interval, holder]);
    },
  };
}

export type CoverageRepository = ReturnType<typeof createCoverageRepository>;
