// The event emitters a `financehub serve` process owns fail, and the process stays up
// (FAIL-023): the Finnhub trade WebSocket (a local fake that accepts and then sends
// garbage, closes without a close frame, resets the TCP connection, or sends a frame over
// the size cap, FAIL-017), the pub/sub subscriber's Redis connection (a redis-server of
// this file's own, killed and restarted empty) and the export stream (its client goes
// away mid-download; its database connections are terminated while it streams). A real
// child process on PostgreSQL, real WebSocket clients. PostgreSQL + Redis pass only: each
// test is skipped, with the reason, when TEST_DATABASE_URL is not set. (pg clients and
// the pool, the command ioredis client, and SIGTERM are in faults.test.ts.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pg from 'pg';
import { cacheKey } from '../../src/platform/cache-keys.ts';
import { usingPostgres } from '../helpers/build-test-app.ts';
import { startFakeFinnhubStream, type FakeFinnhubStream } from '../helpers/fake-finnhub-stream.ts';
import { startFakeFinnhub, type FakeFinnhub } from '../helpers/fake-providers.ts';
import { freePort, jsonLines, startCli, waitForHttp, type Running } from '../helpers/processes.ts';
import { startOwnRedis, type OwnRedis } from '../helpers/redis-server.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectReady, type WsClient } from '../helpers/ws.ts';

const skip = !usingPostgres && 'fault suite runs on PostgreSQL + Redis only (set TEST_DATABASE_URL)';
const API_KEY = 'fh-emitter-suite-key-0123';

describe('event emitters fail, the process stays up (PostgreSQL + Redis)', () => {
  const base = process.env.TEST_DATABASE_URL ?? '';
  const tag = randomBytes(5).toString('hex');
  const schema = `fe_${tag}`;
  const appName = `financehub_emitters_${tag}`;
  let admin: pg.Client;
  let redis: OwnRedis;
  let finnhub: FakeFinnhub;
  let stream: FakeFinnhubStream;
  let server: Running;
  let url: string;
  let token: string;
  const clients: WsClient[] = [];

  const get = async (path: string): Promise<number> => {
    const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  };
  /** The process is alive and answers both liveness and a database-backed, authenticated route. */
  const assertServes = async () => {
    assert.equal(server.child.exitCode, null, `the server exited:\n${server.stdout().slice(-3000)}\n${server.stderr().slice(-2000)}`);
    assert.equal(await get('/health/live'), 200);
    assert.equal(await get('/v1/portfolios'), 200);
  };
  const events = (name: string) => jsonLines(server.stdout()).filter((line) => line.event === name);
  /** A socket of the test's user subscribed to `channel`; the tests' earlier sockets are closed first (the user's cap is 2). */
  const subscribed = async (channel: string): Promise<WsClient> => {
    for (const open of clients.splice(0)) {
      open.close();
      await open.closed;
    }
    const client = await connectReady(`${url.replace('http', 'ws')}/v1/ws`, token);
    clients.push(client);
    client.send({ type: 'subscribe', channels: [channel] });
    await client.sync();
    return client;
  };

  before(async () => {
    if (!usingPostgres) return;
    admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const dbUrl = new URL(base);
    dbUrl.searchParams.set('options', `-c search_path=${schema}`);
    dbUrl.searchParams.set('application_name', appName);
    redis = await startOwnRedis();
    finnhub = await startFakeFinnhub();
    stream = await startFakeFinnhubStream();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = startCli(['serve'], {
      PORT: String(port),
      DATABASE_URL: dbUrl.toString(),
      // The job queue in this suite's own schema too: on a fresh database, servers of
      // parallel suites installing one shared `pgboss` schema at once can collide (a
      // unique violation pg-boss does not recognise as its create race), and they would
      // work each other's jobs.
      JOBS_SCHEMA: schema,
      DATABASE_POOL_MIN: '0',
      DATABASE_POOL_MAX: '4',
      REDIS_URL: redis.url,
      MARKET_DATA_PROVIDER: 'finnhub',
      MARKET_HISTORY_PROVIDER: 'none',
      FINNHUB_API_KEY: API_KEY,
      FINNHUB_BASE_URL: finnhub.url,
      FINNHUB_WS_URL: stream.url,
      PROVIDER_TIMEOUT_MS: '1000',
      PROVIDER_RETRIES: '0',
      PROVIDER_MAX_RESPONSE_BYTES: '65536',
      SHUTDOWN_TIMEOUT_MS: '2000',
      SHED_EVENT_LOOP_DELAY_MS: '0',
      RATE_LIMIT_PUBLIC: '100000/60',
      RATE_LIMIT_LOGIN: '100000/60',
      RATE_LIMIT_REGISTER: '100000/60',
      LOG_LEVEL: 'info',
    });
    await waitForHttp(`${url}/health/ready`, server, 90_000);
    const email = `emitters-${tag}@example.test`;
    const password = `Fh7-${randomBytes(14).toString('base64url')}`;
    const post = (path: string, body: unknown) =>
      fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await post('/v1/auth/register', { email, password })).status, 201);
    const login = await post('/v1/auth/login', { email, password });
    assert.equal(login.status, 200);
    token = String(((await login.json()) as { access_token: string }).access_token);
  });

  after(async () => {
    if (!usingPostgres) return;
    for (const client of clients) client.ws.terminate();
    // FAULTS_LOG=<file> keeps the server's log for a look after a failure.
    if (process.env.FAULTS_LOG !== undefined) (await import('node:fs')).writeFileSync(process.env.FAULTS_LOG, server.stdout() + server.stderr());
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      const timer = setTimeout(() => server.child.kill('SIGKILL'), 5000);
      await server.finished;
      clearTimeout(timer);
    }
    await redis.kill();
    await stream.close();
    await finnhub.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('FAIL-023: the Finnhub trade WebSocket accepts then sends garbage, closes without a close frame, resets the TCP connection: the process stays up and serves, reconnects with growing backoff, and trades flow once the stream behaves', { skip }, async () => {
    stream.plan.push('garbage', 'close', 'reset');
    // The first watcher of a symbol opens the trade stream.
    const client = await subscribed('quotes:AAPL');
    await waitFor(
      'a fourth stream connection (after three failed ones)',
      async () => {
        await assertServes(); // and the server keeps serving meanwhile
        return stream.connections.length >= 4 ? true : undefined;
      },
      30_000,
    );
    assert.deepEqual(stream.connections.slice(0, 4).map((c) => c.mode), ['garbage', 'close', 'reset', 'ok']);
    assert.ok(stream.connections.every((c) => c.token === API_KEY), 'the key travels in the upgrade header');

    // A failing server is retried ever more slowly (500 ms, 1 s, 2 s …), not at a fixed pace.
    const opened = stream.connections.slice(0, 4).map((c) => c.openedAt);
    const gaps = opened.slice(1).map((at, i) => Math.round(at - (opened[i] ?? 0)));
    assert.ok((gaps[0] ?? 0) >= 400, `reconnect gaps ${gaps.join(', ')} ms`);
    assert.ok((gaps[1] ?? 0) >= (gaps[0] ?? 0) * 1.5 && (gaps[2] ?? 0) >= (gaps[1] ?? 0) * 1.5, `reconnect gaps ${gaps.join(', ')} ms grow`);

    // The healthy connection is subscribed again, and its trades reach WebSocket clients.
    const healthy = stream.connections[3];
    await waitFor('the symbol re-subscribed', () => Promise.resolve(healthy?.received.includes('{"type":"subscribe","symbol":"AAPL"}') === true ? true : undefined), 10_000);
    stream.trade('AAPL', '190.25', '3');
    const quote = await client.next((m) => m.type === 'quote' && m.symbol === 'AAPL');
    assert.equal(quote.price, '190.25');
    await assertServes();
    assert.ok(events('provider_stream_closed').length >= 3, 'each failure was logged and a reconnect scheduled');
    assert.ok(events('provider_stream_bad_message').length >= 1, 'the garbage text frame was logged and ignored');
    assert.equal(events('unhandled_error').length, 0);
    assert.equal(events('shutdown').length, 0, 'no uncaught exception started a shutdown');
  });

  it('FAIL-017: a trade-stream frame over PROVIDER_MAX_RESPONSE_BYTES is refused from its header, not buffered: the connection is cut, the stream reconnects and trades flow again', { skip }, async () => {
    const client = await subscribed('quotes:NVDA');
    const before = stream.connections.length;
    stream.plan.push('huge');
    stream.dropAll(); // the healthy connection of the test before is cut: the client reconnects
    await waitFor('the oversized frame refused and a healthy connection after it', () => Promise.resolve(stream.connections.length >= before + 2 ? true : undefined), 15_000);
    const huge = stream.connections[before];
    assert.equal(huge?.mode, 'huge');
    await waitFor('the client to cut the oversized connection', () => Promise.resolve(huge.closeCode !== undefined ? true : undefined), 5_000);
    // `ws` checks the length in the frame header against maxPayload before reading on.
    assert.ok(events('provider_stream_error').some((line) => JSON.stringify(line.err).includes('Max payload size exceeded')), 'refused by its declared length');
    const healthy = stream.connections[before + 1];
    await waitFor('the symbols re-subscribed', () => Promise.resolve(healthy?.received.includes('{"type":"subscribe","symbol":"NVDA"}') === true ? true : undefined), 10_000);
    stream.trade('NVDA', '900.5', '1');
    assert.equal((await client.next((m) => m.type === 'quote' && m.symbol === 'NVDA')).price, '900.5');
    await assertServes();
  });

  it("FAIL-023: the pub/sub subscriber's Redis dies and comes back empty: the process stays up and serves, the subscription is restored and other instances' events reach WebSocket clients again", { skip }, async () => {
    const client = await subscribed('quotes:MSFT');
    // What another instance does: publish a quote event on Redis (the subscriber is the
    // only connection subscribed, so PUBLISH's receiver count tells whether it is there).
    const wire = cacheKey('event', 'market.quote');
    const connectPublisher = async () => {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false });
      connection.on('error', () => undefined);
      await once(connection, 'ready');
      return connection;
    };
    let publisher = await connectPublisher();
    const publishQuote = (price: string) =>
      publisher.publish(wire, JSON.stringify({ symbol: 'MSFT', price, previous_close: null, as_of: new Date().toISOString(), source: 'finnhub', volume: '1' }));
    try {
      assert.ok((await publishQuote('401.00')) >= 1, 'the subscriber listens before the outage');
      assert.equal((await client.next((m) => m.type === 'quote' && m.price === '401.00')).symbol, 'MSFT');

      await redis.kill();
      await waitFor('the subscriber noticed', () => Promise.resolve(events('pubsub_redis_error').length > 0 ? true : undefined), 10_000);
      for (let i = 0; i < 3; i++) await assertServes();

      await redis.start(); // empty: it knows no subscriptions
      publisher.disconnect();
      publisher = await connectPublisher();
      let n = 0;
      const price = await waitFor(
        'the subscription restored on the new Redis',
        async () => {
          n += 1;
          const candidate = `402.${String(n).padStart(2, '0')}`;
          const receivers = await publishQuote(candidate).catch(() => 0);
          return receivers >= 1 ? candidate : undefined;
        },
        20_000,
      );
      assert.equal((await client.next((m) => m.type === 'quote' && m.price === price)).symbol, 'MSFT');
      await assertServes();
      assert.equal(events('unhandled_error').length, 0);
      assert.equal(events('shutdown').length, 0, 'no uncaught exception started a shutdown');
      assert.ok(!server.stderr().includes('Unhandled error event'), `no emitter error went unhandled:\n${server.stderr().slice(-2000)}`);
    } finally {
      publisher.disconnect();
    }
  });

  it('FAIL-023: the export stream loses its client mid-download and its database connections while it streams: the process stays up and serves, and the next export is whole', { skip }, async (t) => {
    const rows = 10_000; // ten pages of the export
    const headers = { authorization: `Bearer ${token}` };
    const created = await fetch(`${url}/v1/portfolios`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'exported', base_currency: 'USD' }) });
    assert.equal(created.status, 201);
    const portfolioId = ((await created.json()) as { id: string }).id;
    const lines = ['date,type,amount'];
    for (let i = 0; i < rows; i++) lines.push(`${new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString()},deposit,${(i % 1000) + 1}`);
    const imported = await fetch(`${url}/v1/portfolios/${portfolioId}/transactions/import`, { method: 'POST', headers: { ...headers, 'content-type': 'text/csv' }, body: `${lines.join('\n')}\n` });
    assert.equal(imported.status, 201);
    const exportedTransactions = async (): Promise<number> => {
      const res = await fetch(`${url}/v1/export`, { headers, signal: AbortSignal.timeout(20_000) });
      assert.equal(res.status, 200);
      const doc = (await res.json()) as { portfolios: Array<{ id: string; transactions: unknown[] }> };
      return doc.portfolios.find((p) => p.id === portfolioId)?.transactions.length ?? -1;
    };

    // The client reads the first piece, then hangs up.
    for (let i = 0; i < 3; i++) {
      const controller = new AbortController();
      const res = await fetch(`${url}/v1/export`, { headers, signal: controller.signal });
      assert.equal(res.status, 200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      controller.abort();
      await reader.closed.catch(() => undefined);
    }
    await assertServes();

    // The server's connections are terminated again and again while exports stream: each
    // export is whole, or a 503, or cut off; never a dead process.
    const outcomes: string[] = [];
    const storm = setInterval(() => {
      void admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName]).catch(() => undefined);
    }, 15);
    try {
      for (let i = 0; i < 4; i++) {
        outcomes.push(
          await exportedTransactions().then(
            (n) => (n === rows ? 'whole' : `partial ${n}`),
            (err: unknown) => (err instanceof assert.AssertionError ? `status ${err.actual as number}` : 'cut off'),
          ),
        );
      }
    } finally {
      clearInterval(storm);
    }
    t.diagnostic(`exports under the storm: ${outcomes.join(', ')}`);
    assert.ok(outcomes.every((o) => o === 'whole' || o === 'cut off' || o === 'status 503'), outcomes.join(', '));
    await waitFor('a whole export again', async () => ((await exportedTransactions().catch(() => 0)) === rows ? true : undefined), 10_000);
    await assertServes();
    assert.equal(events('shutdown').length, 0, `no uncaught exception started a shutdown (outcomes: ${outcomes.join(', ')})`);
  });
});
