// Time partitions of price_bars (migrations/0080): one-minute bars by calendar month,
// daily bars by calendar year, all in UTC. A partition must exist before a bar of its
// range is written (there is no default partition), so writers call `ensure` first;
// maintenance creates the coming partitions ahead of time and drops whole partitions
// past each interval's retention. Partition DDL runs in a short transaction of its own
// under an advisory lock, never inside a long import, so concurrent writers (and
// instances) cannot race to create the same partition and readers are held up only for
// the moment of the DDL itself.
import type { Database, Queryable } from '../../platform/db/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { BarInterval } from './providers/provider.ts';

export interface PartitionRange {
  name: string;
  interval: BarInterval;
  /** Inclusive start and exclusive end, UTC. */
  from: Date;
  to: Date;
}

const PARENT: Record<BarInterval, string> = { '1m': 'price_bars_1m', '1d': 'price_bars_1d' };
const NAME = /^price_bars_(1m_p\d{6}|1d_p\d{4})$/;

/** The partition holding `ts` for `interval`: its name and UTC bounds. */
export function partitionFor(interval: BarInterval, ts: Date): PartitionRange {
  const year = ts.getUTCFullYear();
  if (interval === '1d') {
    return { name: `price_bars_1d_p${year}`, interval, from: new Date(Date.UTC(year, 0, 1)), to: new Date(Date.UTC(year + 1, 0, 1)) };
  }
  const month = ts.getUTCMonth();
  return {
    name: `price_bars_1m_p${year}${String(month + 1).padStart(2, '0')}`,
    interval,
    from: new Date(Date.UTC(year, month, 1)),
    to: new Date(Date.UTC(year, month + 1, 1)),
  };
}

/** Every partition of `interval` that overlaps [from, to], oldest first. */
export function partitionsBetween(interval: BarInterval, from: Date, to: Date): PartitionRange[] {
  const out: PartitionRange[] = [];
  for (let p = partitionFor(interval, from); p.from.getTime() <= to.getTime(); p = partitionFor(interval, p.to)) out.push(p);
  return out;
}

/** `CREATE TABLE … PARTITION OF …` for a computed range; names and bounds come from numbers only. */
export function createPartitionSql(p: PartitionRange): string {
  if (!NAME.test(p.name)) throw new TypeError(`not a partition name: ${p.name}`);
  return `CREATE TABLE IF NOT EXISTS ${p.name} PARTITION OF ${PARENT[p.interval]} FOR VALUES FROM ('${p.from.toISOString()}') TO ('${p.to.toISOString()}')`;
}

export interface PartitionManager {
  /** Makes sure every partition the given bar timestamps fall in exists. */
  ensure: (interval: BarInterval, timestamps: Iterable<Date>) => Promise<void>;
  /** The partitions that exist now, per interval, oldest first. */
  list: () => Promise<PartitionRange[]>;
  /**
   * Creates the partitions of the next `ahead` periods and drops every partition that
   * ends before its interval's retention horizon (a retention of 0 keeps everything).
   */
  maintain: (now: Date, options: { retentionDays: Record<BarInterval, number>; ahead?: number }) => Promise<{ created: string[]; dropped: string[] }>;
}

export function createPartitionManager(db: Database, logger: Logger, options: { partitioned: boolean }): PartitionManager {
  const known = new Set<string>();
  const createLocked = async (tx: Queryable, missing: readonly PartitionRange[]): Promise<string[]> => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':financehub:partitions'))`);
    const { rows } = await tx.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c WHERE c.relname = ANY($1::text[]) AND c.relnamespace = current_schema()::regnamespace`,
      [missing.map((p) => p.name)],
    );
    const existing = new Set(rows.map((r) => r.name));
    const created: string[] = [];
    for (const p of missing) {
      if (!existing.has(p.name)) {
        await tx.query(createPartitionSql(p));
        created.push(p.name);
      }
    }
    return created;
  };

  const list = async (): Promise<PartitionRange[]> => {
    const { rows } = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
       WHERE p.relname IN ('price_bars_1m', 'price_bars_1d') AND p.relnamespace = current_schema()::regnamespace
       ORDER BY c.relname`,
    );
    return rows.flatMap((r) => {
      const m = /^price_bars_(1m|1d)_p(\d{4})(\d{2})?$/.exec(r.name);
      if (m === null) return [];
      const interval = m[1] as BarInterval;
      return [partitionFor(interval, new Date(Date.UTC(Number.parseInt(m[2] ?? '0', 10), m[3] === undefined ? 0 : Number.parseInt(m[3], 10) - 1, 1)))];
    });
  };

  return {
    async ensure(interval, timestamps) {
      if (!options.partitioned) return;
      const needed = new Map<string, PartitionRange>();
      for (const ts of timestamps) {
        const p = partitionFor(interval, ts);
        if (!known.has(p.name)) needed.set(p.name, p);
      }
      if (needed.size === 0) return;
      const created = await db.transaction((tx) => createLocked(tx, [...needed.values()]));
      for (const name of needed.keys()) known.add(name);
      if (created.length > 0) logger.info({ event: 'partitions_created', partitions: created }, `created ${created.length} price_bars partition(s)`);
    },
    list: async () => (options.partitioned ? list() : []),
    async maintain(now, { retentionDays, ahead = 2 }) {
      if (!options.partitioned) return { created: [], dropped: [] };
      const upcoming: PartitionRange[] = [];
      for (const interval of ['1m', '1d'] as const) {
        let p = partitionFor(interval, now);
        for (let i = 0; i <= ahead; i++, p = partitionFor(interval, p.to)) upcoming.push(p);
      }
      const created = await db.transaction((tx) => createLocked(tx, upcoming));
      for (const p of upcoming) known.add(p.name);
      const dropped: string[] = [];
      for (const p of await list()) {
        const days = retentionDays[p.interval];
        if (days <= 0 || p.to.getTime() > now.getTime() - days * 86_400_000) continue;
        // A whole partition at once: no row-by-row delete, no bloat, no long lock.
        await db.transaction(async (tx) => {
          await tx.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':financehub:partitions'))`);
          await tx.query(`DROP TABLE IF EXISTS ${p.name}`);
        });
        known.delete(p.name);
        dropped.push(p.name);
      }
      if (created.length > 0 || dropped.length > 0) {
        logger.info({ event: 'partitions_maintained', created, dropped }, `price_bars partitions: ${created.length} created, ${dropped.length} dropped`);
      }
      return { created, dropped };
    },
  };
}

/** True when the partition of `ts` already lies wholly past the retention horizon: such a bar is not stored. */
export function isPastRetention(interval: BarInterval, ts: Date, now: Date, retentionDays: number): boolean {
  return retentionDays > 0 && partitionFor(interval, ts).to.getTime() <= now.getTime() - retentionDays * 86_400_000;
}
