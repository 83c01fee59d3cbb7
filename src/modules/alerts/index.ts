// Alerts module: rules over a symbol evaluated exactly on quote ticks and closed bars,
// events stored once per crossing and delivered through jobs (the event bus channel
// `alerts.fired`, then the owner's webhook).
import type { Config } from '../../config.ts';
import type { Clock } from '../../platform/clock.ts';
import type { Database } from '../../platform/db/index.ts';
import type { Guards } from '../../platform/http/principal.ts';
import type { App } from '../../platform/http/types.ts';
import type { JobQueue } from '../../platform/jobs/index.ts';
import type { Logger } from '../../platform/logger.ts';
import type { PubSub } from '../../platform/pubsub.ts';
import { BARS_EVENT, QUOTE_EVENT } from '../market/index.ts';
import { runBudget } from '../schedules/schedules.jobs.ts';
import { createAlertsRepository } from './alerts.repository.ts';
import { alertsRoutes } from './alerts.routes.ts';
import { createAlertsService, DELIVER_QUEUE, WEBHOOK_QUEUE, type AlertsService } from './alerts.service.ts';

export interface AlertsDeps {
  config: Config;
  logger: Logger;
  db: Database;
  jobs: JobQueue;
  pubsub: PubSub;
  clock: Clock;
  guards: Guards;
  /**
   * Asks for fresh quotes of at most `max` of these symbols, the oldest quotes first (the
   * market service publishes each as a tick).
   */
  refreshQuotes: (symbols: string[], max: number) => Promise<unknown>;
  /** The live provider's per-minute call budget shared by all instances; null: none. */
  callsPerMinute: number | null;
}

export function registerAlerts(app: App, deps: AlertsDeps): AlertsService {
  const { config, logger, jobs } = deps;
  const alerts = createAlertsService({
    db: deps.db,
    repo: createAlertsRepository(deps.db),
    jobs,
    pubsub: deps.pubsub,
    clock: deps.clock,
    logger,
    tiers: config.tiers,
    webhooks: {
      allowHttp: config.alerts.webhookAllowHttp,
      allowPrivate: config.alerts.webhookAllowPrivate,
      timeoutMs: config.alerts.webhookTimeoutMs,
      retries: 1,
    },
  });
  alertsRoutes(app, { guards: deps.guards, alerts });
  jobs.define<{ event_id: string }>({ name: DELIVER_QUEUE, handler: (payload) => alerts.deliver(payload.event_id) });
  jobs.define<{ event_id: string }>({ name: WEBHOOK_QUEUE, handler: (payload) => alerts.sendWebhook(payload.event_id) });

  // Symbols with active alerts are refreshed every ALERTS_TICK_SECONDS (0: off), so
  // alerts see a tick at least that often whatever else asks for quotes. Each run asks
  // the provider for at most its share of the schedules' budget (SCHEDULE_PROVIDER_BUDGET_PERCENT
  // of the live provider's calls per minute, split over the runs of a minute), the oldest
  // quotes first, so a longer list rotates; the quote cache and the shared provider rate
  // limit still apply, and bound the total when several instances run this timer.
  const perRun = runBudget(deps.callsPerMinute, config.schedules, config.alerts.tickSeconds > 0 ? 60 / config.alerts.tickSeconds : 1);
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    await alerts.start({ quoteEvent: QUOTE_EVENT, barsEvent: BARS_EVENT });
    if (config.alerts.tickSeconds > 0) {
      timer = setInterval(() => {
        alerts
          .activeSymbols()
          .then((symbols) => (symbols.length === 0 ? undefined : deps.refreshQuotes(symbols, perRun)))
          .catch((err: unknown) => logger.warn({ err, event: 'alert_tick_failed' }, 'could not refresh quotes for alerts'));
      }, config.alerts.tickSeconds * 1000);
      timer.unref();
    }
  });
  app.addHook('onClose', async () => {
    if (timer !== undefined) clearInterval(timer);
    await alerts.stop();
  });
  return alerts;
}

export { createAlertsService, ALERTS_FIRED, type AlertsService } from './alerts.service.ts';
export { ALERT_KINDS, createRuleEvaluator, type AlertKind } from './rules.ts';
