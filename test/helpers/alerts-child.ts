// A real process evaluating quote ticks with the alerts service, for the crash test of
// the write-behind: opens the database from its environment (DATA_DIR for PGlite,
// DATABASE_URL + CHILD_SCHEMA for PostgreSQL), migrates, and reads one JSON command per
// line on stdin. The write-behind of condition flips waits CHILD_CONDITION_FLUSH_MS
// (default: ten minutes), so a kill lands between a flip and its flush.
//   {"op":"create","kind":…,"threshold":…}  → CREATED {"id":…}
//   {"op":"tick","symbol":…,"price":…,"as_of":…} → ACK [events] once the tick's firings are
//                                              stored (the acknowledgement a caller relies on)
//   {"op":"dump"}                             → DUMP {"events":[…],"conditions":{id: met}}
//   {"op":"exit"}                             → the service stops, the process exits
// First line READY; a failed command prints ERROR <message>.
import { createInterface } from 'node:readline';
import { loadConfig } from '../../src/config.ts';
import { createAlertsRepository } from '../../src/modules/alerts/alerts.repository.ts';
import { createAlertsService, DELIVER_QUEUE, type QuoteTick } from '../../src/modules/alerts/alerts.service.ts';
import { systemClock } from '../../src/platform/clock.ts';
import { migrate } from '../../src/platform/db/migrations.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { createPubSub } from '../../src/platform/pubsub.ts';
import { openRuntime } from '../../src/runtime.ts';

const out = (line: string) => process.stdout.write(`${line}\n`);
const config = loadConfig(process.env);
const schema = process.env.CHILD_SCHEMA;
const logger = createLogger('error');
const runtime = await openRuntime(config, logger, schema === undefined ? {} : { schema, jobsSchema: schema });
await migrate(runtime.db, logger);
const { db, jobs } = runtime;
jobs.define({ name: DELIVER_QUEUE, handler: () => Promise.resolve() });
await jobs.start('producer');
const USER = '00000000-0000-4000-8000-00000000c0de';
await db.query(
  `INSERT INTO users (id, email, password_hash, role, tier, created_at, updated_at) VALUES ($1, 'crash@example.test', 'x', 'user', 'pro', now(), now())
   ON CONFLICT (id) DO NOTHING`,
  [USER],
);
const pubsub = createPubSub({ logger });
const service = createAlertsService({
  db,
  repo: createAlertsRepository(db),
  jobs,
  pubsub,
  clock: systemClock,
  logger,
  tiers: config.tiers,
  webhooks: { allowHttp: false, allowPrivate: false, timeoutMs: 1000, retries: 0 },
  writer: { conditionFlushMs: Number(process.env.CHILD_CONDITION_FLUSH_MS ?? 600_000) },
});
await service.start({ quoteEvent: 'child.quote', barsEvent: 'child.bars' });
out('READY');

type Command = { op: 'create'; kind: 'price_above' | 'price_below'; symbol: string; threshold: string } | ({ op: 'tick' } & QuoteTick) | { op: 'dump' } | { op: 'exit' };
// One command at a time, in order: a tick is acknowledged before the next is read.
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const command = JSON.parse(line) as Command;
  try {
    switch (command.op) {
      case 'create': {
        const row = await service.create(
          { userId: USER, tier: 'pro' },
          { kind: command.kind, symbol: command.symbol, interval: '1d', threshold: command.threshold, mode: 'every_time', cooldown_seconds: 0 },
        );
        out(`CREATED ${JSON.stringify({ id: row.id })}`);
        break;
      }
      case 'tick': {
        const events = await service.onQuote({ symbol: command.symbol, price: command.price, as_of: command.as_of });
        out(`ACK ${JSON.stringify(events.map((e) => ({ id: e.id, alert_id: e.alert_id, value: e.value })))}`);
        break;
      }
      case 'dump': {
        const events = await db.query<{ id: string; alert_id: string; crossing_key: string; value: string }>(
          'SELECT id, alert_id, crossing_key, value::text AS value FROM alert_events ORDER BY fired_at, crossing_key',
        );
        const conditions = await db.query<{ id: string; condition_met: boolean | null }>('SELECT id, condition_met FROM alerts ORDER BY id');
        out(`DUMP ${JSON.stringify({ events: events.rows, conditions: Object.fromEntries(conditions.rows.map((r) => [r.id, r.condition_met])) })}`);
        break;
      }
      case 'exit':
        await service.stop();
        await pubsub.close();
        await runtime.close();
        process.exit(0);
    }
  } catch (err) {
    out(`ERROR ${(err as Error).message}`);
  }
}
