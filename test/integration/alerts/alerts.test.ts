// Alerts on the real app: CRUD for the caller only (another user's alert is a 404),
// thresholds as decimal strings (FAIL-002), the tier cap, firing on quote ticks with
// crossing semantics, duplicated ticks fire once, every_time respects its cooldown,
// bar-driven rules fire on newly stored bars, events are listed, and delivery runs as a
// job that publishes `alerts.fired` and POSTs a signed webhook (private targets refused,
// a failing endpoint ends in the dead-letter queue).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { waitFor } from '../../helpers/wait.ts';

interface AlertJson {
  id: string;
  status: string;
  threshold: string | null;
}
interface EventJson {
  id: string;
  alert_id: string;
  value: string;
  threshold: string | null;
  fired_at: string;
}

let seq = 0;
/** A distinct tick time per call (a real provider's quotes carry their own time). */
const at = () => new Date(Date.UTC(2026, 0, 5, 15, 0, 0) + (seq += 1) * 1000).toISOString();

describe('alerts', () => {
  let t: TestApp;
  let a: CreatedUser;
  let b: CreatedUser;
  let admin: CreatedUser;
  const fired: { user_id: string; event: { id: string; value: string } }[] = [];
  const hooks: { body: string; headers: IncomingMessage['headers'] }[] = [];
  let hookStatus = 200;
  let server: Server;
  let hookUrl = '';

  const tick = async (symbol: string, price: string, asOf = at()) => {
    await t.pubsub.publish('market.quote', { symbol, price, previous_close: null, as_of: asOf, source: 'test' });
    return asOf;
  };
  const create = async (user: CreatedUser, body: Record<string, unknown>) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/alerts', headers: user.headers, payload: body });
    assert.equal(res.statusCode, 201, res.body);
    return res.json<AlertJson>();
  };
  const events = async (user: CreatedUser, id: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/alerts/${id}/events`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: EventJson[] }>().items;
  };
  /** Lets the bus deliver and the evaluation finish. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        hooks.push({ body, headers: req.headers });
        res.statusCode = hookStatus;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    t = await buildTestApp({
      worker: true,
      env: {
        FREE_ALERTS: '8',
        ALERTS_TICK_SECONDS: '0',
        ALERTS_WEBHOOK_ALLOW_HTTP: 'true',
        ALERTS_WEBHOOK_ALLOW_PRIVATE: 'true',
        ALERTS_WEBHOOK_TIMEOUT_MS: '2000',
        JOBS_POLL_INTERVAL_MS: '500',
        JOBS_RETRY_LIMIT: '1',
        JOBS_RETRY_DELAY_SECONDS: '1',
        JOBS_RETRY_DELAY_MAX_SECONDS: '1',
      },
    });
    a = await createUser(t);
    b = await createUser(t);
    admin = await createUser(t, { role: 'admin' });
    await t.pubsub.subscribe('alerts.fired', (m) => fired.push(m as (typeof fired)[number]));
  });
  after(async () => {
    await t.close();
    server.close();
  });

  it('FAIL-002: a threshold sent as a JSON number is a 400 and creates nothing', async () => {
    for (const threshold of [101.5, 100, '1e3', '1.', ' 5']) {
      const res = await t.app.inject({ method: 'POST', url: '/v1/alerts', headers: a.headers, payload: { kind: 'price_above', symbol: 'AAA', threshold } });
      assert.equal(res.statusCode, 400, `${JSON.stringify(threshold)}: ${res.body}`);
    }
    const k = await t.app.inject({ method: 'POST', url: '/v1/alerts', headers: a.headers, payload: { kind: 'price_crosses_bollinger_upper', symbol: 'AAA', params: { period: 20, k: 2 } } });
    assert.equal(k.statusCode, 400);
    const list = await t.app.inject({ method: 'GET', url: '/v1/alerts', headers: a.headers });
    assert.equal(list.json<{ items: unknown[] }>().items.length, 0);
  });

  it("user B cannot read, change, delete or list A's alert or its events (404)", async () => {
    const alert = await create(a, { kind: 'price_below', symbol: 'ISO', threshold: '10.00', mode: 'every_time' });
    for (const [method, url, payload] of [
      ['GET', `/v1/alerts/${alert.id}`, undefined],
      ['PATCH', `/v1/alerts/${alert.id}`, { status: 'paused' }],
      ['DELETE', `/v1/alerts/${alert.id}`, undefined],
      ['GET', `/v1/alerts/${alert.id}/events`, undefined],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: b.headers, ...(payload === undefined ? {} : { payload }) });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
    }
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/alerts', headers: b.headers })).json<{ items: unknown[] }>().items.length, 0);
    assert.equal((await t.app.inject({ method: 'GET', url: `/v1/alerts/${alert.id}` })).statusCode, 401);
    const mine = await t.app.inject({ method: 'GET', url: `/v1/alerts/${alert.id}`, headers: a.headers });
    assert.equal(mine.json<AlertJson>().threshold, '10.00', 'the threshold comes back as the same decimal string');
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/alerts/${alert.id}`, headers: a.headers })).statusCode, 204);
  });

  it('price_above fires on the tick that crosses, once per crossing; a duplicated tick fires once; delivery publishes alerts.fired', async () => {
    const alert = await create(a, { kind: 'price_above', symbol: 'CRS', threshold: '100.10', mode: 'every_time' });
    await tick('CRS', '100.00');
    await tick('CRS', '100.10'); // equal: not above
    const crossing = at();
    await tick('CRS', '100.11', crossing);
    await tick('CRS', '100.11', crossing); // the same tick again
    await tick('CRS', '100.11', crossing);
    await tick('CRS', '100.50'); // still above: no new crossing
    await settle();
    let list = await events(a, alert.id);
    assert.equal(list.length, 1, JSON.stringify(list));
    assert.equal(list[0]?.value, '100.11');
    assert.equal(list[0]?.threshold, '100.10', 'the threshold as entered');
    // Down and up again: a second crossing.
    await tick('CRS', '99.99');
    await tick('CRS', '101.00');
    await settle();
    list = await events(a, alert.id);
    assert.deepEqual(list.map((e) => e.value), ['100.11', '101.00']);
    await waitFor('alerts.fired for both events', () => Promise.resolve(fired.filter((f) => list.some((e) => e.id === f.event.id)).length === 2 ? true : undefined));
    assert.ok(fired.every((f) => f.user_id === a.userId || f.user_id === b.userId));
    const all = await t.app.inject({ method: 'GET', url: '/v1/alerts/events?limit=1', headers: a.headers });
    assert.equal(all.json<{ items: EventJson[]; next_cursor: string | null }>().items.length, 1);
    assert.ok(all.json<{ next_cursor: string | null }>().next_cursor !== null);
    // Newest first, a page at a time; a cursor of one order is refused by the other (FAIL-016).
    type Page = { items: EventJson[]; next_cursor: string | null };
    const newest = (await t.app.inject({ method: 'GET', url: `/v1/alerts/${alert.id}/events?limit=1&order=desc`, headers: a.headers })).json<Page>();
    assert.deepEqual(newest.items.map((e) => e.value), ['101.00']);
    const older = (await t.app.inject({ method: 'GET', url: `/v1/alerts/${alert.id}/events?limit=1&order=desc&cursor=${newest.next_cursor ?? ''}`, headers: a.headers })).json<Page>();
    assert.deepEqual(older.items.map((e) => e.value), ['100.11']);
    assert.equal(older.next_cursor, null);
    const crossed = await t.app.inject({ method: 'GET', url: `/v1/alerts/${alert.id}/events?limit=1&cursor=${newest.next_cursor ?? ''}`, headers: a.headers });
    assert.equal(crossed.statusCode, 400);
    assert.equal(crossed.json<{ code: string }>().code, 'invalid_cursor');
    await t.app.inject({ method: 'DELETE', url: `/v1/alerts/${alert.id}`, headers: a.headers });
  });

  it('an alert created while its condition holds fires on the next tick; once → triggered', async () => {
    await tick('HLD', '50');
    const alert = await create(a, { kind: 'price_below', symbol: 'HLD', threshold: '60', mode: 'once' });
    await settle();
    await tick('HLD', '50.5');
    await settle();
    assert.equal((await events(a, alert.id)).length, 1);
    await tick('HLD', '70');
    await tick('HLD', '40');
    await settle();
    assert.equal((await events(a, alert.id)).length, 1, 'once fires once');
    const row = await t.app.inject({ method: 'GET', url: `/v1/alerts/${alert.id}`, headers: a.headers });
    assert.equal(row.json<AlertJson>().status, 'triggered');
    await t.app.inject({ method: 'DELETE', url: `/v1/alerts/${alert.id}`, headers: a.headers });
  });

  it('a tick published right after the create response is evaluated against the new rule, even while the index reloads', async () => {
    // Creating an alert reloads the symbol's rules here and announces the change on the
    // bus, which reloads them again; ticks arriving meanwhile must never see an empty index.
    const alert = await create(b, { kind: 'price_above', symbol: 'RLD', threshold: '5', mode: 'every_time' });
    await tick('RLD', '4');
    await tick('RLD', '6');
    await settle();
    assert.equal((await events(b, alert.id)).length, 1);
  });

  it('every_time respects the cooldown', async () => {
    const alert = await create(a, { kind: 'price_above', symbol: 'CDN', threshold: '10', mode: 'every_time', cooldown_seconds: 3600 });
    for (const price of ['9', '11', '9', '11', '9', '11']) await tick('CDN', price);
    await settle();
    assert.equal((await events(a, alert.id)).length, 1, 'the later crossings fall inside the cooldown');
    await t.app.inject({ method: 'DELETE', url: `/v1/alerts/${alert.id}`, headers: a.headers });
  });

  it('bar-driven rules fire on newly stored bars (sma_cross_up), once per bar', async () => {
    const alert = await create(b, { kind: 'sma_cross_up', symbol: 'BAR', params: { fast: 2, slow: 3 }, mode: 'every_time' });
    const bar = async (day: number, close: string) => {
      const ts = new Date(Date.UTC(2026, 0, day)).toISOString();
      await t.db.query(
        `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source) VALUES ('BAR', '1d', $1, $2, $2, $2, $2, 0, 'test')`,
        [ts, close],
      );
      await t.pubsub.publish('market.bars', { symbol: 'BAR', interval: '1d', count: 1, from: ts, to: ts, source: 'test' });
      await settle();
    };
    // SMA2 vs SMA3: 10,9,8 → fast below slow; 12 → fast 10 > slow 9.67: a cross up on day 4.
    for (const [day, close] of [[1, '10'], [2, '9'], [3, '8']] as const) await bar(day, close);
    assert.equal((await events(b, alert.id)).length, 0);
    await bar(4, '12');
    const list = await events(b, alert.id);
    assert.equal(list.length, 1);
    // The same bars event again: nothing new.
    await t.pubsub.publish('market.bars', { symbol: 'BAR', interval: '1d', count: 1, from: '2026-01-04T00:00:00.000Z', to: '2026-01-04T00:00:00.000Z', source: 'test' });
    await settle();
    assert.equal((await events(b, alert.id)).length, 1);
  });

  it('the tier caps the number of alerts (409)', async () => {
    const user = await createUser(t);
    for (let i = 0; i < 8; i += 1) await create(user, { kind: 'price_above', symbol: `CAP${i}`, threshold: '1' });
    const res = await t.app.inject({ method: 'POST', url: '/v1/alerts', headers: user.headers, payload: { kind: 'price_above', symbol: 'CAPX', threshold: '1' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json<{ code: string }>().code, 'alert_limit_reached');
  });

  it("a webhook reads back as its URL and time, never its secret; another user's is not shown; removed, it is gone", async () => {
    const user = await createUser(t);
    const read = () => t.app.inject({ method: 'GET', url: '/v1/me/alert-webhook', headers: user.headers });
    const none = await read();
    assert.equal(none.statusCode, 404, none.body);
    assert.equal(none.json<{ code: string }>().code, 'not_found');
    const set = await t.app.inject({ method: 'PUT', url: '/v1/me/alert-webhook', headers: user.headers, payload: { url: `${hookUrl}?user=1` } });
    assert.equal(set.statusCode, 200, set.body);
    const { secret } = set.json<{ secret: string }>();
    const shown = await read();
    assert.equal(shown.statusCode, 200, shown.body);
    const view = shown.json<Record<string, string>>();
    assert.deepEqual(Object.keys(view).sort(), ['created_at', 'url']);
    assert.equal(view.url, `${hookUrl}?user=1`);
    assert.ok(!shown.body.includes(secret), 'the secret is shown only when set');
    const other = await createUser(t);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me/alert-webhook', headers: other.headers })).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/me/alert-webhook', headers: user.headers })).statusCode, 204);
    assert.equal((await read()).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: '/v1/me/alert-webhook' })).statusCode, 401);
  });

  it('webhooks: the signature verifies; a failing endpoint ends in the dead-letter queue', async () => {
    const set = await t.app.inject({ method: 'PUT', url: '/v1/me/alert-webhook', headers: a.headers, payload: { url: hookUrl } });
    assert.equal(set.statusCode, 200, set.body);
    const { secret } = set.json<{ secret: string }>();
    const alert = await create(a, { kind: 'price_above', symbol: 'WHK', threshold: '5', mode: 'every_time' });
    await tick('WHK', '4');
    await tick('WHK', '6');
    const hook = await waitFor('the webhook call', () => Promise.resolve(hooks.find((h) => h.body.includes(alert.id))));
    const expected = `sha256=${createHmac('sha256', secret).update(`${String(hook.headers['x-financehub-timestamp'])}.${hook.body}`).digest('hex')}`;
    assert.equal(hook.headers['x-financehub-signature'], expected);
    const body = JSON.parse(hook.body) as { alert_id: string; value: string; threshold: string };
    assert.equal(body.alert_id, alert.id);
    assert.equal(body.value, '6');
    assert.equal(typeof body.threshold, 'string');

    hookStatus = 500;
    await tick('WHK', '4');
    await tick('WHK', '7');
    const dead = await waitFor(
      'the webhook job in the dead-letter queue',
      async () => {
        const res = await t.app.inject({ method: 'GET', url: '/v1/admin/jobs/dead-letter?queue=alerts.webhook', headers: admin.headers });
        return res.json<{ items: { attempts: number; last_error: string }[] }>().items[0];
      },
      90_000,
    );
    assert.equal(dead.attempts, 2);
    assert.match(dead.last_error, /500/);
    hookStatus = 200;
  });

  it('condition changes are written behind, and a write for an older version of a rule never overwrites its reset condition', async () => {
    const condition = async (id: string) =>
      (await t.db.query<{ condition_met: boolean | null }>('SELECT condition_met FROM alerts WHERE id = $1', [id])).rows[0]?.condition_met;
    const alert = await create(a, { kind: 'price_above', symbol: 'WBH', threshold: '10', mode: 'every_time' });
    const other = await create(a, { kind: 'price_above', symbol: 'WBO', threshold: '10', mode: 'every_time' });
    await tick('WBO', '9');
    await tick('WBH', '11');
    await waitFor('the firing stored', async () => ((await events(a, alert.id)).length === 1 ? true : undefined));
    assert.equal(await condition(alert.id), true, 'stored with the firing');
    await tick('WBH', '9'); // no firing: only the condition changes, written behind
    await waitFor('the condition written behind', async () => ((await condition(alert.id)) === false ? true : undefined));
    await tick('WBH', '11');
    await waitFor('the second firing stored', async () => ((await events(a, alert.id)).length === 2 ? true : undefined));
    // A change to "not met" is queued (no firing), then the rule changes (the stored condition resets).
    await tick('WBH', '9');
    const res = await t.app.inject({ method: 'PATCH', url: `/v1/alerts/${alert.id}`, headers: a.headers, payload: { threshold: '20' } });
    assert.equal(res.statusCode, 200, res.body);
    // Writes are applied in order: once a later change is stored, the earlier one was handled.
    await tick('WBO', '9.5');
    await tick('WBO', '11');
    await waitFor('the later change stored', async () => ((await condition(other.id)) === true ? true : undefined));
    assert.equal(await condition(alert.id), null, 'the reset condition of the changed rule is kept');
    for (const id of [alert.id, other.id]) await t.app.inject({ method: 'DELETE', url: `/v1/alerts/${id}`, headers: a.headers });
  });

  it('FAIL-021: the same delivery and webhook jobs run again (duplicated or retried) publish alerts.fired once and POST once', async () => {
    const set = await t.app.inject({ method: 'PUT', url: '/v1/me/alert-webhook', headers: a.headers, payload: { url: hookUrl } });
    assert.equal(set.statusCode, 200, set.body);
    const alert = await create(a, { kind: 'price_above', symbol: 'DUP', threshold: '5', mode: 'every_time' });
    await tick('DUP', '4');
    await tick('DUP', '6');
    const [event] = await waitFor('the stored event', async () => {
      const list = await events(a, alert.id);
      return list.length === 1 ? list : undefined;
    });
    assert.ok(event !== undefined);
    await waitFor('the first webhook call', () => Promise.resolve(hooks.find((h) => h.body.includes(event.id))));
    // The same jobs again, twice each (pg-boss standard queues do not dedupe by singleton key).
    const again = [
      ...(await Promise.all([0, 1].map(() => t.jobs.enqueue(undefined, 'alerts.deliver', { event_id: event.id })))).map((id) => ['alerts.deliver', id] as const),
      ...(await Promise.all([0, 1].map(() => t.jobs.enqueue(undefined, 'alerts.webhook', { event_id: event.id })))).map((id) => ['alerts.webhook', id] as const),
    ];
    await waitFor('the repeated jobs completed', async () => {
      const states = await Promise.all(again.map(([queue, id]) => t.jobs.boss().getJobById(queue, id as string)));
      return states.every((job) => job?.state === 'completed') ? true : undefined;
    });
    // Bus messages arrive in order: once the marker is here, any repeat publish would be too.
    const marker = { user_id: 'marker', event: { id: `marker-${event.id}`, value: '0' } };
    await t.pubsub.publish('alerts.fired', marker);
    await waitFor('the marker', () => Promise.resolve(fired.some((f) => f.event.id === marker.event.id) ? true : undefined));
    assert.equal(fired.filter((f) => f.event.id === event.id).length, 1, 'alerts.fired published once');
    assert.equal(hooks.filter((h) => h.body.includes(event.id)).length, 1, 'the webhook POSTed once');
    await t.app.inject({ method: 'DELETE', url: '/v1/me/alert-webhook', headers: a.headers });
    await t.app.inject({ method: 'DELETE', url: `/v1/alerts/${alert.id}`, headers: a.headers });
  });
});

describe('alert webhooks without the test allowances', () => {
  let t: TestApp;
  let user: CreatedUser;
  before(async () => {
    t = await buildTestApp({ env: { ALERTS_TICK_SECONDS: '0' } });
    user = await createUser(t);
  });
  after(() => t.close());

  it('a private, loopback or plain-http webhook target is refused (SSRF guard)', async () => {
    for (const url of ['http://example.com/hook', 'https://127.0.0.1/hook', 'https://10.1.2.3/x', 'https://[::1]/x', 'https://169.254.169.254/latest', 'https://192.168.0.10/', 'https://localhost/hook', 'https://user:pw@example.com/']) {
      const res = await t.app.inject({ method: 'PUT', url: '/v1/me/alert-webhook', headers: user.headers, payload: { url } });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.match(res.json<{ code: string }>().code, /webhook_url_refused/);
    }
  });
});
