// SQL of the alerts feature. Every query on a user's rows filters by user_id; the
// evaluation queries (index load, firing) are keyed by alert id. Values are NUMERIC,
// read back as strings.
import type { Database, Queryable } from '../../platform/db/index.ts';
import { timeOrderSql, type TimeOrder } from '../../platform/http/cursor.ts';
import type { AlertKind, AlertParams, RuleState } from './rules.ts';

export type AlertMode = 'once' | 'every_time' | 'once_per_bar';
export type AlertStatus = 'active' | 'paused' | 'triggered';
export type AlertInterval = '1m' | '1d';

export interface AlertRow {
  id: string;
  user_id: string;
  kind: AlertKind;
  symbol: string;
  interval: AlertInterval;
  threshold: string | null;
  params: AlertParams;
  mode: AlertMode;
  cooldown_seconds: number;
  status: AlertStatus;
  condition_met: boolean | null;
  state: RuleState | null;
  last_bar_ts: Date | null;
  last_fired_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AlertEventRow {
  id: string;
  alert_id: string;
  user_id: string;
  kind: AlertKind;
  symbol: string;
  fired_at: Date;
  value: string;
  threshold: string | null;
  message: string;
}

/** A level condition to store, for the rule version (`updated_at`) it was computed for. */
export interface ConditionWrite {
  met: boolean;
  version: Date;
}

/** One firing of a tick-driven alert for fireBatch, with the alert's latest condition (null: none to write). */
export type BatchFiring = Omit<AlertEventRow, 'fired_at'> & { crossing_key: string; met: boolean | null; version: Date | null };

const ALERT_COLUMNS = `id, user_id, kind, symbol, "interval", threshold::text AS threshold, params, mode, cooldown_seconds, status,
  condition_met, state, last_bar_ts, last_fired_at, created_at, updated_at`;
const EVENT_COLUMNS = 'id, alert_id, user_id, kind, symbol, fired_at, value::text AS value, threshold::text AS threshold, message';

export function createAlertsRepository(db: Database) {
  return {
    /** Inserts unless the user already has `cap` alerts (a per-user advisory lock serialises creates). */
    create(row: Omit<AlertRow, 'condition_met' | 'state' | 'last_bar_ts' | 'last_fired_at'>, cap: number): Promise<AlertRow | 'full'> {
      return db.transaction(async (tx) => {
        await tx.query(`SELECT pg_advisory_xact_lock(hashtext('financehub:alerts:' || $1))`, [row.user_id]);
        const { rows: counted } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts WHERE user_id = $1', [row.user_id]);
        if ((counted[0]?.n ?? 0) >= cap) return 'full';
        const { rows } = await tx.query<AlertRow>(
          `INSERT INTO alerts (id, user_id, kind, symbol, "interval", threshold, params, mode, cooldown_seconds, status, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::jsonb, $8, $9, $10, $11, $11) RETURNING ${ALERT_COLUMNS}`,
          [row.id, row.user_id, row.kind, row.symbol, row.interval, row.threshold, JSON.stringify(row.params), row.mode, row.cooldown_seconds, row.status, row.created_at],
        );
        return rows[0] as AlertRow;
      });
    },
    async count(userId: string): Promise<number> {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM alerts WHERE user_id = $1', [userId]);
      return rows[0]?.n ?? 0;
    },
    async list(userId: string, limit: number, after?: { at: Date; id: string }): Promise<AlertRow[]> {
      const { rows } = await db.query<AlertRow>(
        `SELECT ${ALERT_COLUMNS} FROM alerts WHERE user_id = $1
           AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
         ORDER BY created_at, id LIMIT $4`,
        [userId, after?.at ?? null, after?.id ?? null, limit],
      );
      return rows;
    },
    async get(userId: string, id: string): Promise<AlertRow | undefined> {
      const { rows } = await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE user_id = $1 AND id = $2`, [userId, id]);
      return rows[0];
    },
    async byId(id: string): Promise<AlertRow | undefined> {
      const { rows } = await db.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1`, [id]);
      return rows[0];
    },
    async update(
      userId: string,
      id: string,
      patch: { status?: AlertStatus; threshold?: string; mode?: AlertMode; cooldown_seconds?: number },
      at: Date,
    ): Promise<AlertRow | undefined> {
      // A changed threshold or a re-activation forgets the last condition: the next tick evaluates it afresh.
      const { rows } = await db.query<AlertRow>(
        `UPDATE alerts SET
           status = COALESCE($3, status),
           threshold = COALESCE($4::numeric, threshold),
           mode = COALESCE($5, mode),
           cooldown_seconds = COALESCE($6, cooldown_seconds),
           condition_met = CASE WHEN $4::numeric IS NOT NULL OR $3 = 'active' THEN NULL ELSE condition_met END,
           updated_at = $7
         WHERE user_id = $1 AND id = $2 RETURNING ${ALERT_COLUMNS}`,
        [userId, id, patch.status ?? null, patch.threshold ?? null, patch.mode ?? null, patch.cooldown_seconds ?? null, at],
      );
      return rows[0];
    },
    async remove(userId: string, id: string): Promise<AlertRow | undefined> {
      const { rows } = await db.query<AlertRow>(`DELETE FROM alerts WHERE user_id = $1 AND id = $2 RETURNING ${ALERT_COLUMNS}`, [userId, id]);
      return rows[0];
    },
    /** Active alerts of the tick-evaluated kinds (the threshold index), optionally of one symbol. */
    async activeTickAlerts(symbol?: string): Promise<AlertRow[]> {
      const { rows } = await db.query<AlertRow>(
        `SELECT ${ALERT_COLUMNS} FROM alerts WHERE status = 'active' AND kind IN ('price_above', 'price_below') AND ($1::text IS NULL OR symbol = $1)`,
        [symbol ?? null],
      );
      return rows;
    },
    /** Ids of the active bar-driven alerts of a symbol and interval. */
    async activeBarAlertIds(symbol: string, interval: AlertInterval): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(
        `SELECT id FROM alerts WHERE status = 'active' AND symbol = $1 AND "interval" = $2 AND kind NOT IN ('price_above', 'price_below') ORDER BY id`,
        [symbol, interval],
      );
      return rows.map((r) => r.id);
    },
    /** Symbols with an active alert (the simulated provider ticks them). */
    async activeSymbols(): Promise<string[]> {
      const { rows } = await db.query<{ symbol: string }>(`SELECT DISTINCT symbol FROM alerts WHERE status = 'active' ORDER BY symbol`);
      return rows.map((r) => r.symbol);
    },
    /**
     * Write-behind of the level conditions the tick path keeps in memory (only flips are
     * written). A row is written only while it is still the version the condition was
     * computed for (`updated_at`): a rule changed meanwhile (new threshold, re-activation
     * resets the condition to NULL) is never overwritten with a stale condition. The
     * `id = ANY(…)` keeps the plan on the primary key whatever the table's statistics say
     * (a join on unnest alone was planned as a scan of every active alert).
     */
    async setConditions(tx: Queryable, ids: string[], met: boolean[], versions: Date[]): Promise<void> {
      if (ids.length === 0) return;
      await tx.query(
        `UPDATE alerts AS a SET condition_met = v.met FROM unnest($1::uuid[], $2::boolean[], $3::timestamptz[]) AS v(id, met, version)
          WHERE a.id = ANY($1::uuid[]) AND a.id = v.id AND a.updated_at = v.version`,
        [ids, met, versions],
      );
    },
    /**
     * Stores the firings of tick-driven alerts in one statement, in the caller's
     * transaction (at most one firing per alert in `firings`): each alert is claimed as
     * claimFiring does (active, out of its cooldown, `once` becomes triggered; its condition
     * written with the claim) unless its crossing is stored already, and an event is
     * inserted per claimed alert (ON CONFLICT on the crossing key). `claimed` counts the
     * claims; when it exceeds the events returned, a concurrent twin stored a crossing first
     * and the caller rolls back.
     *
     * The plan stays on the primary key whatever the table's statistics say: `id = ANY(…)`
     * (a join on unnest alone was planned as a scan of every active alert), and the status
     * test written `(status = 'active') IS TRUE`, which the planner cannot match to the
     * partial index alerts_active_symbol_idx. Written `status = 'active'`, a table without
     * statistics (PGlite runs no autovacuum) had every claim read that index in full, every
     * active alert: 8 ms a round with 100,000 alerts, and planning took three times as long.
     * One row per stored event, or one row of NULLs when none was; each carries the claims.
     */
    async fireBatch(tx: Queryable, at: Date, firings: BatchFiring[]): Promise<{ claimed: number; events: AlertEventRow[] }> {
      if (firings.length === 0) return { claimed: 0, events: [] };
      const col = <K extends keyof BatchFiring>(k: K) => firings.map((f) => f[k]);
      const { rows } = await tx.query<AlertEventRow & { claimed: number }>(
        `WITH input AS (
           SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::numeric[], $9::numeric[], $10::text[],
                                $11::boolean[], $12::timestamptz[])
             AS i(id, alert_id, user_id, kind, symbol, crossing_key, value, threshold, message, met, version)
         ), claimed AS (
           UPDATE alerts AS a SET last_fired_at = $1, status = CASE WHEN a.mode = 'once' THEN 'triggered' ELSE a.status END,
                  condition_met = CASE WHEN i.met IS NOT NULL AND a.updated_at = i.version THEN i.met ELSE a.condition_met END
             FROM input AS i
            WHERE a.id = ANY($3::uuid[]) AND a.id = i.alert_id AND (a.status = 'active') IS TRUE
              AND (a.mode <> 'every_time' OR a.last_fired_at IS NULL OR a.last_fired_at + a.cooldown_seconds * interval '1 second' <= $1)
              AND NOT EXISTS (SELECT 1 FROM alert_events AS e WHERE e.alert_id = i.alert_id AND e.crossing_key = i.crossing_key)
           RETURNING a.id
         ), stored AS (
           INSERT INTO alert_events (id, alert_id, user_id, kind, symbol, crossing_key, fired_at, value, threshold, message)
           SELECT i.id, i.alert_id, i.user_id, i.kind, i.symbol, i.crossing_key, $1, i.value, i.threshold, i.message
             FROM input AS i JOIN claimed AS c ON c.id = i.alert_id
           ON CONFLICT (alert_id, crossing_key) DO NOTHING
           RETURNING ${EVENT_COLUMNS}
         )
         SELECT s.*, c.n AS claimed FROM (SELECT count(*)::int AS n FROM claimed) AS c LEFT JOIN stored AS s ON true`,
        [
          at,
          col('id'),
          col('alert_id'),
          col('user_id'),
          col('kind'),
          col('symbol'),
          col('crossing_key'),
          col('value'),
          col('threshold'),
          col('message'),
          col('met'),
          col('version'),
        ],
      );
      const claimed = rows[0]?.claimed ?? 0;
      const events = rows.filter((r) => r.id !== null).map(({ claimed: _claimed, ...event }) => event);
      return { claimed, events };
    },
    /** Locks a bar-driven alert for evaluation (two instances never evaluate it at once). */
    async lockForEvaluation(tx: Queryable, id: string): Promise<AlertRow | undefined> {
      const { rows } = await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = $1 AND status = 'active' FOR UPDATE`, [id]);
      return rows[0];
    },
    async saveEvaluation(tx: Queryable, id: string, state: RuleState, lastBarTs: Date, met: boolean | null): Promise<void> {
      await tx.query('UPDATE alerts SET state = $2::jsonb, last_bar_ts = $3, condition_met = $4 WHERE id = $1', [id, JSON.stringify(state), lastBarTs, met]);
    },
    /** Closed bars after `after` (oldest first), or the newest `limit` bars when `after` is null. */
    async bars(tx: Queryable, symbol: string, interval: AlertInterval, after: Date | null, limit: number): Promise<{ ts: Date; close: string }[]> {
      if (after === null) {
        const { rows } = await tx.query<{ ts: Date; close: string }>(
          `SELECT ts, close::text AS close FROM (SELECT ts, close FROM price_bars WHERE symbol = $1 AND "interval" = $2 ORDER BY ts DESC LIMIT $3) t ORDER BY ts`,
          [symbol, interval, limit],
        );
        return rows;
      }
      const { rows } = await tx.query<{ ts: Date; close: string }>(
        `SELECT ts, close::text AS close FROM price_bars WHERE symbol = $1 AND "interval" = $2 AND ts > $3 ORDER BY ts LIMIT $4`,
        [symbol, interval, after, limit],
      );
      return rows;
    },
    /**
     * The firing gate, in the caller's transaction: marks the alert fired if it is still
     * active and out of its cooldown (`once` becomes triggered), writing `condition` with
     * the claim when given (and the rule is still that version). Undefined: it must not fire.
     */
    async claimFiring(tx: Queryable, id: string, at: Date, condition?: ConditionWrite): Promise<AlertRow | undefined> {
      const { rows } = await tx.query<AlertRow>(
        `UPDATE alerts SET last_fired_at = $2, status = CASE WHEN mode = 'once' THEN 'triggered' ELSE status END,
                condition_met = CASE WHEN $3::boolean IS NOT NULL AND updated_at = $4::timestamptz THEN $3::boolean ELSE condition_met END
          WHERE id = $1 AND status = 'active'
            AND (mode <> 'every_time' OR last_fired_at IS NULL OR last_fired_at + cooldown_seconds * interval '1 second' <= $2)
          RETURNING ${ALERT_COLUMNS}`,
        [id, at, condition?.met ?? null, condition?.version ?? null],
      );
      return rows[0];
    },
    /** One event per (alert, crossing key): undefined when this crossing is already stored. */
    async insertEvent(tx: Queryable, event: AlertEventRow & { crossing_key: string }): Promise<AlertEventRow | undefined> {
      const { rows } = await tx.query<AlertEventRow>(
        `INSERT INTO alert_events (id, alert_id, user_id, kind, symbol, crossing_key, fired_at, value, threshold, message)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric, $9::numeric, $10)
         ON CONFLICT (alert_id, crossing_key) DO NOTHING RETURNING ${EVENT_COLUMNS}`,
        [event.id, event.alert_id, event.user_id, event.kind, event.symbol, event.crossing_key, event.fired_at, event.value, event.threshold, event.message],
      );
      return rows[0];
    },
    async event(id: string): Promise<AlertEventRow | undefined> {
      const { rows } = await db.query<AlertEventRow>(`SELECT ${EVENT_COLUMNS} FROM alert_events WHERE id = $1`, [id]);
      return rows[0];
    },
    /**
     * Claims an event's delivery (`delivered_at`) or webhook POST (`webhook_sent_at`) in the
     * caller's transaction: the event when this call set the column, undefined when it was
     * set already. A concurrent duplicate waits on the row lock and then finds it set.
     */
    async claimEventStep(tx: Queryable, id: string, step: 'delivered_at' | 'webhook_sent_at', at: Date): Promise<AlertEventRow | undefined> {
      const column = step === 'delivered_at' ? 'delivered_at' : 'webhook_sent_at';
      const { rows } = await tx.query<AlertEventRow>(`UPDATE alert_events SET ${column} = $2 WHERE id = $1 AND ${column} IS NULL RETURNING ${EVENT_COLUMNS}`, [id, at]);
      return rows[0];
    },
    async events(userId: string, alertId: string | undefined, limit: number, after: { at: Date; id: string } | undefined, order: TimeOrder): Promise<AlertEventRow[]> {
      const { after: beyond, direction } = timeOrderSql(order);
      const { rows } = await db.query<AlertEventRow>(
        `SELECT ${EVENT_COLUMNS} FROM alert_events WHERE user_id = $1 AND ($2::uuid IS NULL OR alert_id = $2)
           AND ($3::timestamptz IS NULL OR (fired_at, id) ${beyond} ($3::timestamptz, $4::uuid))
         ORDER BY fired_at ${direction}, id ${direction} LIMIT $5`,
        [userId, alertId ?? null, after?.at ?? null, after?.id ?? null, limit],
      );
      return rows;
    },
    async webhook(userId: string, tx: Queryable = db): Promise<{ url: string; secret: string } | undefined> {
      const { rows } = await tx.query<{ url: string; secret: string }>('SELECT url, secret FROM alert_webhooks WHERE user_id = $1', [userId]);
      return rows[0];
    },
    /** The webhook as its owner may see it again: never the secret. */
    async webhookView(userId: string): Promise<{ url: string; created_at: Date } | undefined> {
      const { rows } = await db.query<{ url: string; created_at: Date }>('SELECT url, created_at FROM alert_webhooks WHERE user_id = $1', [userId]);
      return rows[0];
    },
    async setWebhook(userId: string, url: string, secret: string, at: Date): Promise<void> {
      await db.query(
        `INSERT INTO alert_webhooks (user_id, url, secret, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret, created_at = EXCLUDED.created_at`,
        [userId, url, secret, at],
      );
    },
    async removeWebhook(userId: string): Promise<boolean> {
      const { rowCount } = await db.query('DELETE FROM alert_webhooks WHERE user_id = $1', [userId]);
      return rowCount > 0;
    },
  };
}

export type AlertsRepository = ReturnType<typeof createAlertsRepository>;
