// Alerts: CRUD for the caller (count capped by tier), evaluation on every quote tick
// (price kinds, through the sorted threshold index) and every new closed bar (indicator
// and percent kinds, with the exact incremental engines and their stored state), and
// firing: a claim on the alert (status active, cooldown over; `once` becomes triggered),
// one stored event per (alert, crossing key) by a unique constraint, and the delivery job
// enqueued in the same transaction (FAIL-021). A duplicated or retried tick, or two
// instances evaluating the same tick, therefore store one event.
//
// The quote tick path stays in memory: the threshold index decides the flips, and one
// writer stores them in rounds (group commit). A firing round is one transaction holding
// every firing queued since the last round: claims, events and each claimed alert's
// latest condition in one statement, then the delivery jobs. It starts on the next turn
// of the loop when a firing is queued and the writer is idle, else when the running
// round ends. The other
// condition flips are written behind, every CONDITION_FLUSH_MS or CONDITION_FLUSH_MAX flips,
// in statements of at most CONDITION_CHUNK rows, and only where they differ from what is
// stored. A round that fails (a database error) keeps its firings and conditions and is
// retried with backoff, each firing by at most FIRING_RETRIES later rounds. A crash loses
// at most the unwritten condition flips and the firings not yet stored (see
// docs/alerts.md for what that can do); a tick's promise settles once its firings are stored.
import { randomBytes, randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TierLimits } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database, Queryable } from '../../platform/db/index.ts';
import { AppError, badRequest, notFound } from '../../platform/errors.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import { decodeTimeCursor, encodeTimeCursor, isUuid, type TimeOrder } from '../../platform/http/cursor.ts';
import type { AlertEventRow, AlertInterval, AlertMode, AlertRow, AlertsRepository, ConditionWrite } from './alerts.repository.ts';
import { createPriceIndex } from './price-index.ts';
import { createRuleEvaluator, emptyState, THRESHOLD_KINDS, TICK_KINDS, type AlertKind, type AlertParams, type Firing } from './rules.ts';
import { checkWebhookUrl, createWebhookSender, type WebhookPolicy } from './webhooks.ts';

export const ALERTS_CHANGED = 'alerts.changed';
export const ALERTS_FIRED = 'alerts.fired';
export const DELIVER_QUEUE = 'alerts.deliver';
export const WEBHOOK_QUEUE = 'alerts.webhook';
/** Bars replayed to warm a new bar-driven alert's indicators up. */
const WARM_UP_BARS = 1000;
const BAR_MS: Record<AlertInterval, number> = { '1m': 60_000, '1d': 86_400_000 };

/** Thrown inside a firing transaction to roll it back: the crossing is stored already. */
class SkipFiring extends Error {}
/** Thrown inside a batch round to roll it back: a twin stored one of its crossings first. */
class RaceInBatch extends Error {}
/** Condition flips wait at most this long (or for this many flips) before they are written. */
export const CONDITION_FLUSH_MS = 200;
export const CONDITION_FLUSH_MAX = 5000;
/** Rows per write-behind statement: a long flush is several short statements, so a firing never waits behind one long one on PGlite's thread. */
export const CONDITION_CHUNK = 250;
/** A firing whose round failed is kept and retried by at most this many later rounds. */
export const FIRING_RETRIES = 8;
/** Backoff after a failed round: doubling from this, at most FIRING_RETRY_MAX_MS (8 retries span about 16 s). */
export const FIRING_RETRY_MS = 200;
export const FIRING_RETRY_MAX_MS = 5000;
/** Firings waiting to be stored at most (a database down for long); past it a new firing is refused at once. */
export const FIRING_QUEUE_MAX = 50_000;

interface QueuedFiring {
  row: AlertRow;
  firing: Firing;
  crossingKey: string;
  /** Failed rounds this firing was in. */
  attempts: number;
  done: (event: AlertEventRow | undefined) => void;
  failed: (err: unknown) => void;
}

export interface AlertInput {
  kind: AlertKind;
  symbol: string;
  interval: AlertInterval;
  threshold?: string;
  params?: AlertParams;
  mode: AlertMode;
  cooldown_seconds?: number;
}

export interface AlertsServiceDeps {
  db: Database;
  repo: AlertsRepository;
  jobs: JobQueue;
  pubsub: PubSub;
  clock: Clock;
  logger: Logger;
  tiers: { free: TierLimits; pro: TierLimits };
  webhooks: WebhookPolicy;
  /** The writer's timings (tests): the write-behind delay and the first retry delay. */
  writer?: { conditionFlushMs?: number; retryMs?: number };
}

export interface QuoteTick {
  symbol: string;
  price: string;
  as_of: string;
}

export function alertEventMessage(event: AlertEventRow) {
  return {
    user_id: event.user_id,
    event: {
      id: event.id,
      alert_id: event.alert_id,
      kind: event.kind,
      symbol: event.symbol,
      fired_at: event.fired_at.toISOString(),
      value: event.value,
      threshold: event.threshold,
      message: event.message,
    },
  };
}

function checkRule(input: { kind: AlertKind; threshold?: string | undefined; params?: AlertParams | undefined }): void {
  const p = input.params ?? {};
  if (THRESHOLD_KINDS.has(input.kind) && input.threshold === undefined) {
    throw badRequest('threshold_required', `${input.kind} needs a threshold.`, [{ field: 'body.threshold', message: 'is required for this kind' }]);
  }
  if (!THRESHOLD_KINDS.has(input.kind) && input.threshold !== undefined) {
    throw badRequest('threshold_not_used', `${input.kind} takes no threshold.`, [{ field: 'body.threshold', message: 'is not used by this kind' }]);
  }
  if ((input.kind === 'sma_cross_up' || input.kind === 'sma_cross_down') && (p.fast ?? 50) >= (p.slow ?? 200)) {
    throw badRequest('invalid_params', 'fast must be shorter than slow.', [{ field: 'body.params.fast', message: 'must be less than slow' }]);
  }
  if ((input.kind === 'macd_crosses_signal_up' || input.kind === 'macd_crosses_signal_down') && (p.fast ?? 12) >= (p.slow ?? 26)) {
    throw badRequest('invalid_params', 'fast must be shorter than slow.', [{ field: 'body.params.fast', message: 'must be less than slow' }]);
  }
}

export function createAlertsService(deps: AlertsServiceDeps) {
  const { db, repo, jobs, pubsub, clock, logger } = deps;
  const index = createPriceIndex();
  /** Tick-evaluated alerts by id (mode, interval, owner for firing). */
  const tickAlerts = new Map<string, AlertRow>();
  const webhookSender = createWebhookSender({ logger, policy: deps.webhooks });
  const unsubscribe: (() => Promise<void>)[] = [];

  /**
   * Reloads one symbol's rules. The rows are read first and swapped in synchronously, so a
   * tick arriving during the read is evaluated against the previous rules, never against
   * an empty index; when reloads overlap, only the latest one's rows are applied.
   */
  const reloadGeneration = new Map<string, number>();
  const loadSymbol = async (symbol: string) => {
    const generation = (reloadGeneration.get(symbol) ?? 0) + 1;
    reloadGeneration.set(symbol, generation);
    const rows = await repo.activeTickAlerts(symbol);
    if (reloadGeneration.get(symbol) !== generation) return;
    reloadGeneration.delete(symbol);
    // This instance's own condition of an unchanged rule is newer than the stored one
    // (its flips are written behind), so it is kept across the reload.
    const known = new Map<string, boolean | null>();
    for (const row of rows) {
      const mine = tickAlerts.get(row.id);
      if (mine !== undefined && mine.updated_at.getTime() === row.updated_at.getTime() && mine.threshold === row.threshold) known.set(row.id, index.condition(symbol, row.id));
    }
    index.clear(symbol);
    for (const [id, row] of tickAlerts) {
      if (row.symbol !== symbol) continue;
      tickAlerts.delete(id);
      storedConditions.delete(id);
    }
    for (const row of rows) addToIndex(row, known.has(row.id) ? (known.get(row.id) ?? null) : row.condition_met);
  };
  /** Indexes a tick-driven rule with `met` as its current condition (the stored one, unless this instance knows a newer one). */
  const addToIndex = (row: AlertRow, met: boolean | null = row.condition_met) => {
    if (!TICK_KINDS.has(row.kind) || row.status !== 'active' || row.threshold === null) return;
    tickAlerts.set(row.id, row);
    storedConditions.set(row.id, row.condition_met);
    index.add(row.symbol, { id: row.id, kind: row.kind as 'price_above' | 'price_below', threshold: row.threshold, met });
  };
  /** Tags this instance's change messages: it has reloaded already when it publishes one, so it skips its own. */
  const origin = randomUUID();
  const changed = (symbol: string) =>
    pubsub.publish(ALERTS_CHANGED, { symbol, origin }).catch((err: unknown) => logger.warn({ err, event: 'alerts_change_publish_failed' }, 'could not publish an alert change'));
  /**
   * After a create, update or delete: this instance's index is reloaded before the
   * request returns (a tick right after the response is evaluated against the new rule),
   * and the other instances are told to reload theirs.
   */
  const ruleChanged = async (symbol: string) => {
    await loadSymbol(symbol);
    await changed(symbol);
  };

  /** Claims the alert, stores the event (once per crossing key) and enqueues its delivery, in `tx`. */
  const fireIn = async (tx: Queryable, row: AlertRow, firing: Firing, crossingKey: string, at: Date, condition?: ConditionWrite): Promise<AlertEventRow | undefined> => {
    const claimed = await repo.claimFiring(tx, row.id, at, condition);
    if (claimed === undefined) return undefined;
    const event = await repo.insertEvent(tx, {
      id: randomUUID(),
      alert_id: row.id,
      user_id: row.user_id,
      kind: row.kind,
      symbol: row.symbol,
      crossing_key: crossingKey,
      fired_at: at,
      value: firing.value,
      threshold: firing.threshold,
      message: firing.message,
    });
    if (event === undefined) return undefined;
    await jobs.enqueue(tx, DELIVER_QUEUE, { event_id: event.id }, { singletonKey: event.id });
    return event;
  };

  /** One firing in its own transaction (the fallback after a race); undefined when it must not (or did already) fire. */
  const fireOne = async (f: QueuedFiring, condition: ConditionWrite | undefined): Promise<AlertEventRow | undefined> => {
    try {
      return await db.transaction(async (tx) => {
        const stored = await fireIn(tx, f.row, f.firing, f.crossingKey, clock.now(), condition);
        // Roll the claim back too when this crossing was stored already (by a twin instance).
        if (stored === undefined) throw new SkipFiring();
        return stored;
      });
    } catch (err) {
      if (err instanceof SkipFiring) return undefined;
      throw err;
    }
  };

  const tickKey = (row: AlertRow, tick: QuoteTick): string => {
    if (row.mode !== 'once_per_bar') return `tick:${tick.as_of}|${tick.price}`;
    const ms = new Date(tick.as_of).getTime();
    return `bar:${new Date(ms - (ms % BAR_MS[row.interval])).toISOString()}`;
  };

  // ---- the writer: firings and condition flips, stored in rounds (one transaction each) ----
  const conditionFlushMs = deps.writer?.conditionFlushMs ?? CONDITION_FLUSH_MS;
  const retryMs = deps.writer?.retryMs ?? FIRING_RETRY_MS;
  /**
   * Latest unwritten condition per alert, with the rule version it was computed for. An
   * entry is replaced (never mutated) by a newer flip, so a round that wrote one removes
   * it only if it is still the same object.
   */
  const conditionWrites = new Map<string, ConditionWrite>();
  /** The condition stored for each indexed alert, as far as this instance knows (a flip back to it writes nothing). */
  const storedConditions = new Map<string, boolean | null>();
  let firingQueue: QueuedFiring[] = [];
  /** Queued firings per alert: their conditions are written with their claims, not behind. */
  const firingAlerts = new Map<string, number>();
  let writing: Promise<void> | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  /** Set by the flush timer (or CONDITION_FLUSH_MAX flips): the writer writes the conditions behind. */
  let flushDue = false;
  /** When the oldest unwritten flip was queued (performance.now()): a busy writer flushes by it, not by the timer. */
  let pendingSince: number | undefined;
  let failedRounds = 0;
  let stopping = false;

  const enqueueDeliveries = async (tx: Queryable, events: AlertEventRow[]) => {
    await jobs.enqueueMany(
      tx,
      DELIVER_QUEUE,
      events.map((event) => ({ payload: { event_id: event.id }, singletonKey: event.id })),
    );
  };
  const afterStored = (row: AlertRow, event: AlertEventRow) => {
    if (row.mode === 'once') {
      index.remove(row.symbol, row.id);
      tickAlerts.delete(row.id);
      storedConditions.delete(row.id);
      void changed(row.symbol);
    }
    logger.info({ event: 'alert_fired', alertId: row.id, symbol: row.symbol, kind: row.kind }, 'alert fired');
    return event;
  };
  /** A condition written (with a claim or behind): it is stored, and no longer pending unless a newer flip replaced it. */
  const conditionStored = (id: string, written: ConditionWrite) => {
    if (conditionWrites.get(id) === written) conditionWrites.delete(id);
    if (tickAlerts.get(id)?.updated_at.getTime() === written.version.getTime()) storedConditions.set(id, written.met);
  };
  const release = (f: QueuedFiring) => {
    const n = (firingAlerts.get(f.row.id) ?? 1) - 1;
    if (n > 0) firingAlerts.set(f.row.id, n);
    else firingAlerts.delete(f.row.id);
  };
  /**
   * Settles a firing its round decided. A `once` alert that could not fire is no longer
   * active in the database (a twin instance fired it, or it was paused or deleted): the
   * symbol's rules are reloaded before the tick's promise settles, so this instance stops
   * evaluating it without waiting for the twin's change message.
   */
  const settle = (f: QueuedFiring, event: AlertEventRow | undefined, reloads: Map<string, Promise<void>>) => {
    release(f);
    if (event !== undefined) {
      f.done(afterStored(f.row, event));
      return;
    }
    if (f.row.mode !== 'once' || !tickAlerts.has(f.row.id)) {
      f.done(undefined);
      return;
    }
    let reload = reloads.get(f.row.symbol);
    if (reload === undefined) {
      reload = loadSymbol(f.row.symbol).catch((err: unknown) => logger.error({ err, event: 'alert_index_reload_failed' }, 'alert index reload failed'));
      reloads.set(f.row.symbol, reload);
    }
    void reload.then(() => f.done(undefined));
  };
  /**
   * A firing given up: its alert's condition goes back to unknown (and its unwritten flip
   * is dropped), so the next tick fires it if the condition still holds, instead of "met"
   * being stored without an event.
   */
  const forgetCondition = (row: AlertRow) => {
    const current = tickAlerts.get(row.id);
    if (current?.updated_at.getTime() !== row.updated_at.getTime() || current.threshold === null) return;
    conditionWrites.delete(row.id);
    index.add(row.symbol, { id: row.id, kind: row.kind as 'price_above' | 'price_below', threshold: current.threshold, met: null });
  };
  /**
   * A round failed (a database error): its firings go back to the head of the queue for
   * the next round, except those that were in FIRING_RETRIES failed rounds already, which
   * are given up (their ticks' promises reject). The next round waits for the backoff.
   */
  const retryLater = (failed: QueuedFiring[], err: unknown) => {
    const again: QueuedFiring[] = [];
    for (const f of failed) {
      f.attempts += 1;
      if (f.attempts <= FIRING_RETRIES && !stopping) {
        again.push(f);
        continue;
      }
      release(f);
      forgetCondition(f.row);
      logger.error({ err, event: 'alert_firing_dropped', alertId: f.row.id, attempts: f.attempts }, 'gave up storing an alert firing');
      f.failed(err);
    }
    firingQueue = [...again, ...firingQueue];
    backOff(err, again.length);
  };
  const backOff = (err: unknown, retrying: number) => {
    failedRounds += 1;
    const doubled = retryMs * 2 ** (failedRounds - 1);
    const delay = doubled > FIRING_RETRY_MAX_MS ? FIRING_RETRY_MAX_MS : doubled;
    logger.warn({ err, event: 'alert_write_failed', retrying, retryInMs: delay }, 'could not store alert firings or conditions; retrying');
    if (stopping || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      flushDue = true;
      void drain();
    }, delay);
    retryTimer.unref();
  };

  /**
   * One firing round: the queued firings (one per alert; repeats wait for the next round),
   * each claim writing its alert's latest condition, sent in alert id order (two instances
   * claiming the same alerts take the row locks in one order; a deadlock would only fail
   * the round, which is retried). False when it failed.
   */
  const firingRound = async (): Promise<boolean> => {
    const batch: QueuedFiring[] = [];
    const rest: QueuedFiring[] = [];
    const seen = new Set<string>();
    for (const f of firingQueue) {
      if (seen.has(f.row.id)) rest.push(f);
      else {
        seen.add(f.row.id);
        batch.push(f);
      }
    }
    firingQueue = rest;
    batch.sort((x, y) => (x.row.id < y.row.id ? -1 : x.row.id > y.row.id ? 1 : 0));
    const conditions = batch.map((f) => conditionWrites.get(f.row.id));
    const at = clock.now();
    const rows = batch.map((f, i) => ({
      id: randomUUID(),
      alert_id: f.row.id,
      user_id: f.row.user_id,
      kind: f.row.kind,
      symbol: f.row.symbol,
      crossing_key: f.crossingKey,
      value: f.firing.value,
      threshold: f.firing.threshold,
      message: f.firing.message,
      met: conditions[i]?.met ?? null,
      version: conditions[i]?.version ?? null,
    }));
    const reloads = new Map<string, Promise<void>>();
    try {
      const events = await db.transaction(async (tx) => {
        const { claimed, events } = await repo.fireBatch(tx, at, rows);
        if (claimed > events.length) throw new RaceInBatch();
        await enqueueDeliveries(tx, events);
        return events;
      });
      failedRounds = 0;
      const byAlert = new Map(events.map((e) => [e.alert_id, e]));
      batch.forEach((f, i) => {
        const event = byAlert.get(f.row.id);
        const condition = conditions[i];
        if (event !== undefined && condition !== undefined) conditionStored(f.row.id, condition);
        settle(f, event, reloads);
      });
      return true;
    } catch (err) {
      if (!(err instanceof RaceInBatch)) {
        retryLater(batch, err);
        return false;
      }
    }
    // A twin instance stored one of these crossings between our read and our claim:
    // store them one by one, each claim rolled back when its crossing exists.
    logger.info({ event: 'alert_firing_race', firings: batch.length }, 'a twin instance stored one of these crossings first; storing them one by one');
    const failed: QueuedFiring[] = [];
    let error: unknown;
    for (const [i, f] of batch.entries()) {
      const condition = conditions[i];
      try {
        const event = await fireOne(f, condition);
        if (event !== undefined && condition !== undefined) conditionStored(f.row.id, condition);
        settle(f, event, reloads);
      } catch (err) {
        failed.push(f);
        error = err;
      }
    }
    if (failed.length === 0) return true;
    retryLater(failed, error);
    return false;
  };
  /**
   * One write-behind statement: at most CONDITION_CHUNK pending conditions, leaving out
   * alerts with a queued firing (written with its claim) and flips back to the stored
   * condition (nothing to write). 'more' when pending conditions remain for another chunk.
   */
  const conditionRound = async (): Promise<'done' | 'more' | 'failed'> => {
    const taken: [string, ConditionWrite][] = [];
    let more = false;
    for (const [id, c] of conditionWrites) {
      if (firingAlerts.has(id)) continue;
      if (storedConditions.get(id) === c.met) {
        conditionWrites.delete(id);
        continue;
      }
      if (taken.length === CONDITION_CHUNK) {
        more = true;
        break;
      }
      taken.push([id, c]);
    }
    if (taken.length === 0) {
      pendingSince = conditionWrites.size > 0 ? performance.now() : undefined;
      return 'done';
    }
    try {
      await db.transaction((tx) =>
        repo.setConditions(
          tx,
          taken.map(([id]) => id),
          taken.map(([, c]) => c.met),
          taken.map(([, c]) => c.version),
        ),
      );
    } catch (err) {
      backOff(err, firingQueue.length);
      return 'failed';
    }
    failedRounds = 0;
    for (const [id, c] of taken) conditionStored(id, c);
    if (more) return 'more';
    pendingSince = conditionWrites.size > 0 ? performance.now() : undefined;
    return 'done';
  };
  /**
   * Runs rounds until nothing is due; only one writer runs at a time. Firings go first; a
   * due write-behind runs a chunk between firing rounds. After a failed round the writer
   * waits for its backoff timer (firings queued meanwhile wait with the retried ones).
   */
  const drain = (): Promise<void> => {
    if (writing !== undefined) return writing;
    if (retryTimer !== undefined) return Promise.resolve();
    if (flushTimer !== undefined) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    writing = (async () => {
      try {
        // The first round starts on the next turn of the loop, not inside the tick that
        // queued the first firing: the firings of one burst of ticks (one batch, one read
        // of the bus) go in one round instead of the first alone and the rest in a second.
        await nextTurn();
        for (;;) {
          if (firingQueue.length > 0 && !(await firingRound())) return;
          // A writer kept busy by firings never sees the flush timer: the write-behind is
          // due by the age of its oldest flip.
          if (pendingSince !== undefined && (performance.now() - pendingSince >= conditionFlushMs || conditionWrites.size >= CONDITION_FLUSH_MAX)) flushDue = true;
          if (flushDue) {
            const flushed = await conditionRound();
            if (flushed === 'failed') return;
            if (flushed === 'done') flushDue = false;
          }
          if (firingQueue.length === 0 && !flushDue) return;
        }
      } finally {
        writing = undefined;
        if (retryTimer === undefined && !stopping) {
          if (firingQueue.length > 0 || flushDue) void drain();
          else if (conditionWrites.size > 0) scheduleFlush();
        }
      }
    })();
    return writing;
  };
  const scheduleFlush = () => {
    if (stopping || writing !== undefined || retryTimer !== undefined) return;
    if (conditionWrites.size >= CONDITION_FLUSH_MAX) {
      flushDue = true;
      void drain();
    } else if (flushTimer === undefined) {
      // Due CONDITION_FLUSH_MS after the oldest unwritten flip, not after this call.
      const age = pendingSince === undefined ? 0 : performance.now() - pendingSince;
      flushTimer = setTimeout(
        () => {
          flushTimer = undefined;
          flushDue = true;
          void drain();
        },
        age >= conditionFlushMs ? 0 : conditionFlushMs - age,
      );
      flushTimer.unref();
    }
  };
  const queueFiring = (row: AlertRow, firing: Firing, crossingKey: string): Promise<AlertEventRow | undefined> => {
    if (firingQueue.length >= FIRING_QUEUE_MAX) {
      logger.error({ event: 'alert_firing_dropped', alertId: row.id, queued: firingQueue.length }, 'too many alert firings wait to be stored; dropped one');
      return Promise.reject(new Error('too many alert firings wait to be stored'));
    }
    return new Promise((done, failed) => {
      firingQueue.push({ row, firing, crossingKey, attempts: 0, done, failed });
      firingAlerts.set(row.id, (firingAlerts.get(row.id) ?? 0) + 1);
      void drain();
    });
  };

  const service = {
    /** Loads the threshold index and subscribes to quotes, bars and alert changes. */
    async start(market: { quoteEvent: string; barsEvent: string }): Promise<void> {
      for (const row of await repo.activeTickAlerts()) addToIndex(row);
      unsubscribe.push(
        await pubsub.subscribe(market.quoteEvent, (message) => {
          service.onQuote(message as QuoteTick).catch((err: unknown) => logger.error({ err, event: 'alert_evaluation_failed' }, 'alert evaluation failed'));
        }),
        await pubsub.subscribe(market.barsEvent, (message) => {
          const m = message as { symbol: string; interval: AlertInterval };
          service.onBars(m.symbol, m.interval).catch((err: unknown) => logger.error({ err, event: 'alert_evaluation_failed' }, 'alert evaluation failed'));
        }),
        await pubsub.subscribe(ALERTS_CHANGED, (message) => {
          const m = message as { symbol: string; origin?: string };
          if (m.origin === origin) return;
          loadSymbol(m.symbol).catch((err: unknown) => logger.error({ err, event: 'alert_index_reload_failed' }, 'alert index reload failed'));
        }),
      );
    },
    /** Unsubscribes, then makes one last attempt to store what is queued; firings still unstored then are rejected. */
    async stop(): Promise<void> {
      for (const off of unsubscribe.splice(0)) await off();
      await service.flush();
      stopping = true;
      for (const timer of [retryTimer, flushTimer]) if (timer !== undefined) clearTimeout(timer);
      retryTimer = undefined;
      flushTimer = undefined;
      while (writing !== undefined) await writing;
      for (const f of firingQueue.splice(0)) {
        release(f);
        f.failed(new Error('the alerts service stopped before this firing was stored'));
      }
    },

    /**
     * One quote tick: only the alerts whose threshold lies between the last and this price
     * are visited, in memory. Flips are queued for the write-behind; firings are queued for
     * the writer, and the returned promise settles when they are stored (with their
     * delivery jobs and their alerts' conditions) or found to be stored already or not to
     * fire; it rejects only when a firing could not be stored after its retries.
     */
    onQuote(tick: QuoteTick): Promise<AlertEventRow[]> {
      // After stop() (a message the bus delivered after the unsubscribe) nothing is
      // evaluated: the database may be closed already.
      if (stopping || !index.has(tick.symbol)) return Promise.resolve([]);
      const flips = index.tick(tick.symbol, tick.price);
      if (flips.length === 0) return Promise.resolve([]);
      const firings: Promise<AlertEventRow | undefined>[] = [];
      for (const flip of flips) {
        const row = tickAlerts.get(flip.alert.id);
        if (row === undefined || row.threshold === null) continue;
        conditionWrites.set(row.id, { met: flip.met, version: row.updated_at });
        pendingSince ??= performance.now();
        if (!flip.met) continue;
        const above = row.kind === 'price_above';
        firings.push(queueFiring(row, { value: tick.price, threshold: row.threshold, message: `${row.symbol} ${tick.price} ${above ? 'above' : 'below'} ${row.threshold}` }, tickKey(row, tick)));
      }
      if (firings.length === 0) {
        scheduleFlush();
        return Promise.resolve([]);
      }
      return Promise.all(firings).then((events) => events.filter((e): e is AlertEventRow => e !== undefined));
    },
    /** Writes every queued firing and condition now, without waiting for a backoff (stop, tests). */
    async flush(): Promise<void> {
      if (retryTimer !== undefined) {
        clearTimeout(retryTimer);
        retryTimer = undefined;
      }
      flushDue = true;
      await drain();
      while (writing !== undefined) await writing;
    },

    /** New closed bars of a symbol: each bar-driven alert consumes the bars after its last one, under a row lock. */
    async onBars(symbol: string, interval: AlertInterval): Promise<AlertEventRow[]> {
      const fired: AlertEventRow[] = [];
      if (stopping) return fired;
      for (const id of await repo.activeBarAlertIds(symbol, interval)) {
        await db.transaction(async (tx) => {
          const row = await repo.lockForEvaluation(tx, id);
          if (row === undefined) return;
          const fresh = row.state === null || row.last_bar_ts === null;
          const bars = await repo.bars(tx, symbol, interval, fresh ? null : row.last_bar_ts, fresh ? WARM_UP_BARS : 5000);
          if (bars.length === 0) return;
          const evaluator = createRuleEvaluator({ kind: row.kind, threshold: row.threshold, params: row.params }, row.state ?? emptyState());
          for (const [i, bar] of bars.entries()) {
            const firing = evaluator.step({ close: bar.close });
            // A new alert replays history only to warm up; it fires on the newest bar at most.
            if (firing === null || (fresh && i < bars.length - 1)) continue;
            const event = await fireIn(tx, row, firing, `bar:${bar.ts.toISOString()}`, clock.now());
            if (event !== undefined) fired.push(event);
            if (row.mode === 'once' && event !== undefined) break;
          }
          const state = evaluator.state();
          const last = bars.at(-1);
          if (last !== undefined) await repo.saveEvaluation(tx, row.id, state, last.ts, state.met);
        });
      }
      return fired;
    },

    async create(user: { userId: string; tier: 'free' | 'pro' }, input: AlertInput): Promise<AlertRow> {
      checkRule(input);
      const now = clock.now();
      const cap = deps.tiers[user.tier].alerts;
      const row = await repo.create(
        {
          id: randomUUID(),
          user_id: user.userId,
          kind: input.kind,
          symbol: input.symbol,
          interval: input.interval,
          threshold: input.threshold ?? null,
          params: input.params ?? {},
          mode: input.mode,
          cooldown_seconds: input.cooldown_seconds ?? 0,
          status: 'active',
          created_at: now,
          updated_at: now,
        },
        cap,
      );
      if (row === 'full') {
        throw new AppError(409, 'alert_limit_reached', 'Conflict', { detail: `Your tier allows ${cap} alerts.`, extra: { limit: cap } });
      }
      await ruleChanged(row.symbol);
      return row;
    },
    async list(userId: string, limit: number, cursor?: string): Promise<{ items: AlertRow[]; nextCursor: string | null }> {
      const after = cursor === undefined ? undefined : decodeTimeCursor(cursor, 'alerts');
      const rows = await repo.list(userId, limit + 1, after);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page, nextCursor: rows.length > limit && last !== undefined ? encodeTimeCursor('alerts', last.created_at, last.id) : null };
    },
    async get(userId: string, id: string): Promise<AlertRow> {
      const row = isUuid(id) ? await repo.get(userId, id) : undefined;
      if (row === undefined) throw notFound('Alert');
      return row;
    },
    async update(userId: string, id: string, patch: { status?: 'active' | 'paused'; threshold?: string; mode?: AlertMode; cooldown_seconds?: number }): Promise<AlertRow> {
      const current = await service.get(userId, id);
      if (patch.threshold !== undefined) checkRule({ kind: current.kind, threshold: patch.threshold, params: current.params });
      const row = await repo.update(userId, id, patch, clock.now());
      if (row === undefined) throw notFound('Alert');
      await ruleChanged(row.symbol);
      return row;
    },
    async remove(userId: string, id: string): Promise<void> {
      const row = isUuid(id) ? await repo.remove(userId, id) : undefined;
      if (row === undefined) throw notFound('Alert');
      await ruleChanged(row.symbol);
    },
    async events(userId: string, alertId: string | undefined, limit: number, cursor: string | undefined, order: TimeOrder): Promise<{ items: AlertEventRow[]; nextCursor: string | null }> {
      if (alertId !== undefined) await service.get(userId, alertId);
      const after = cursor === undefined ? undefined : decodeTimeCursor(cursor, 'alert-events', order);
      const rows = await repo.events(userId, alertId, limit + 1, after, order);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page, nextCursor: rows.length > limit && last !== undefined ? encodeTimeCursor('alert-events', last.fired_at, last.id, order) : null };
    },
    /** The caller's webhook without its secret, which is shown only when it is set. */
    async webhook(userId: string): Promise<{ url: string; created_at: string }> {
      const row = await repo.webhookView(userId);
      if (row === undefined) throw notFound('Webhook');
      return { url: row.url, created_at: row.created_at.toISOString() };
    },
    /** Sets the caller's webhook; the signing secret is returned once. */
    async setWebhook(userId: string, url: string): Promise<{ url: string; secret: string }> {
      await checkWebhookUrl(url, deps.webhooks);
      const secret = randomBytes(32).toString('base64url');
      await repo.setWebhook(userId, url, secret, clock.now());
      return { url, secret };
    },
    async removeWebhook(userId: string): Promise<void> {
      if (!(await repo.removeWebhook(userId))) throw notFound('Webhook');
    },
    /**
     * Job: publishes the event to the owner's sockets and hands it to the webhook queue,
     * once per event however often the job runs (FAIL-021): `delivered_at` is claimed in
     * the transaction that publishes and enqueues the webhook job, so a duplicated or
     * retried job finds it set and does nothing, and a failed publish rolls the claim back
     * (the retry publishes). Only a crash between the publish and the commit can publish
     * twice (at least once, never lost).
     */
    async deliver(eventId: string): Promise<void> {
      await db.transaction(async (tx) => {
        const event = await repo.claimEventStep(tx, eventId, 'delivered_at', clock.now());
        if (event === undefined) return;
        await pubsub.publish(ALERTS_FIRED, alertEventMessage(event));
        if ((await repo.webhook(event.user_id, tx)) !== undefined) await jobs.enqueue(tx, WEBHOOK_QUEUE, { event_id: event.id }, { singletonKey: event.id });
      });
    },
    /**
     * Job: POSTs the event to the owner's webhook, signed, once per event: `webhook_sent_at`
     * is claimed in the transaction around the POST (a concurrent duplicate waits on the
     * row, at most the webhook timeout, then finds it set); a failed POST rolls the claim
     * back and throws (retries, then the dead-letter queue).
     */
    async sendWebhook(eventId: string): Promise<void> {
      await db.transaction(async (tx) => {
        const event = await repo.claimEventStep(tx, eventId, 'webhook_sent_at', clock.now());
        if (event === undefined) return;
        const target = await repo.webhook(event.user_id, tx);
        if (target === undefined) return;
        const body = JSON.stringify(alertEventMessage(event).event);
        await webhookSender.send(target, event.id, body, clock.now());
      });
    },
    /** Symbols with an active alert (the simulated provider ticks them). */
    activeSymbols: () => repo.activeSymbols(),
    indexSize: (symbol: string) => index.size(symbol),
  };
  return service;
}

export type AlertsService = ReturnType<typeof createAlertsService>;
