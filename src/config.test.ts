import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from './config.ts';

function failure(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('defaults follow the design table', () => {
    const config = loadConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 3000);
    assert.equal(config.dataDir, './data');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.databasePoolMin, 2);
    assert.equal(config.databasePoolMax, 10);
    assert.equal(config.slowQueryMs, 200);
    assert.equal(config.redisUrl, undefined);
    assert.deepEqual(config.allowedOrigins, ['http://127.0.0.1:3000', 'http://localhost:3000']);
    assert.equal(config.accessTokenTtl, 900);
    assert.equal(config.refreshTokenTtl, 30 * 24 * 3600);
    assert.equal(config.marketDataProvider, 'yahoo');
    assert.equal(config.marketHistoryProvider, 'yahoo');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.logRequests, 'all');
    assert.equal(config.trustProxy, false);
  });

  it('market data is real by default: Finnhub (history from Yahoo) with a key, Yahoo without; simulated only when chosen', () => {
    const keyed = loadConfig({ FINNHUB_API_KEY: 'k' });
    assert.deepEqual([keyed.marketDataProvider, keyed.marketHistoryProvider], ['finnhub', 'yahoo']);
    const chosen = loadConfig({ MARKET_DATA_PROVIDER: 'simulated', FINNHUB_API_KEY: 'k' });
    assert.deepEqual([chosen.marketDataProvider, chosen.marketHistoryProvider], ['simulated', 'simulated']);
  });

  it('the daily quota batch is large on the embedded database (one instance: it bounds no over-use) and 50 on PostgreSQL, where it bounds over-use per instance', () => {
    assert.equal(loadConfig({}).quotaFlushBatch, 1000);
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db/app' }).quotaFlushBatch, 50);
    assert.equal(loadConfig({ DATABASE_URL: 'postgres://db/app', QUOTA_FLUSH_BATCH: '7' }).quotaFlushBatch, 7);
  });

  it('has no default secrets', () => {
    const config = loadConfig({});
    for (const key of ['healthToken', 'metricsToken', 'jwtKeys', 'jwtKeysFile', 'adminEmail', 'adminPassword', 'finnhubApiKey'] as const) {
      assert.equal(config[key], undefined, key);
    }
  });

  it('is frozen, nested objects included', () => {
    const config = loadConfig({});
    assert.ok(Object.isFrozen(config));
    assert.throws(() => {
      (config as { port: number }).port = 1;
    }, TypeError);
    assert.ok(Object.isFrozen(config.allowedOrigins), 'the CORS allow-list cannot be extended at run time');
    for (const [key, value] of Object.entries(config)) {
      if (value !== null && typeof value === 'object') assert.ok(Object.isFrozen(value), key);
    }
  });

  it('parses values and trims whitespace', () => {
    const config = loadConfig({ PORT: ' 8080 ', DATABASE_URL: 'postgres://u:p@db:5432/app', TRUST_PROXY: 'yes', DATA_DIR: 'memory' });
    assert.equal(config.port, 8080);
    assert.equal(config.databaseUrl, 'postgres://u:p@db:5432/app');
    assert.equal(config.trustProxy, true);
    assert.equal(config.dataDir, 'memory');
  });

  it('each bad value names its variable', () => {
    const cases: [Record<string, string>, string][] = [
      [{ PORT: 'abc' }, 'PORT'],
      [{ PORT: '1.5' }, 'PORT'],
      [{ PORT: '65536' }, 'PORT'],
      [{ DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX'],
      [{ DATABASE_POOL_MIN: '3', DATABASE_POOL_MAX: '2' }, 'DATABASE_POOL_MIN'],
      [{ DATABASE_URL: 'postgres://[oops' }, 'DATABASE_URL'],
      [{ DATABASE_URL: 'http://db/app' }, 'DATABASE_URL'],
      [{ REDIS_URL: 'localhost:6379' }, 'REDIS_URL'],
      [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY'],
      [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
      [{ LOG_REQUESTS: 'some' }, 'LOG_REQUESTS'],
      [{ LOG_REQUESTS_SAMPLE: '0' }, 'LOG_REQUESTS_SAMPLE'],
      [{ MARKET_DATA_PROVIDER: 'bloomberg' }, 'MARKET_DATA_PROVIDER'],
      [{ MARKET_DATA_PROVIDER: 'finnhub' }, 'FINNHUB_API_KEY'],
      [{ ALLOWED_ORIGINS: 'https://a.example/path' }, 'ALLOWED_ORIGINS'],
      [{ HEALTH_TOKEN: 'short' }, 'HEALTH_TOKEN'],
      [{ ADMIN_EMAIL: 'admin@example.com' }, 'ADMIN_PASSWORD'],
      [{ BODY_LIMIT_BYTES: '10' }, 'BODY_LIMIT_BYTES'],
      [{ DATABASE_STATEMENT_TIMEOUT_MS: '0' }, 'DATABASE_STATEMENT_TIMEOUT_MS'],
    ];
    for (const [env, variable] of cases) {
      const err = failure(env);
      assert.equal(err.variable, variable, JSON.stringify(env));
      assert.ok(err.message.startsWith(`${variable}: `), err.message);
      assert.ok(!err.message.includes('\n'), 'one line');
    }
  });

  it('S-015: pool bounds and database timeouts are configurable', () => {
    const config = loadConfig({ DATABASE_POOL_MIN: '0', DATABASE_POOL_MAX: '50', DATABASE_CONNECT_TIMEOUT_MS: '1500', DATABASE_STATEMENT_TIMEOUT_MS: '2500' });
    assert.equal(config.databasePoolMin, 0);
    assert.equal(config.databasePoolMax, 50);
    assert.equal(config.databaseConnectTimeoutMs, 1500);
    assert.equal(config.databaseStatementTimeoutMs, 2500);
  });

  it('does not echo a database URL (it may hold a password) in its error', () => {
    const err = failure({ DATABASE_URL: 'postgres://u:s3cret-pw@[::1' });
    assert.ok(!err.message.includes('s3cret-pw'));
  });

  it('email is off without SMTP_URL; with it, SMTP_FROM is required and both are checked without echoing credentials', () => {
    assert.equal(loadConfig({}).smtp, undefined);
    const on = loadConfig({ SMTP_URL: 'smtps://mailer:pw@mail.example.com', SMTP_FROM: 'FinanceHub <no-reply@example.com>' });
    assert.equal(on.smtp?.from, 'FinanceHub <no-reply@example.com>');
    assert.equal(on.smtp?.resetTokenTtlSeconds, 1800);
    assert.equal(on.smtp?.verifyTokenTtlSeconds, 86_400);
    assert.equal(failure({ SMTP_URL: 'smtp://mail.example.com' }).variable, 'SMTP_FROM');
    const wrongScheme = failure({ SMTP_URL: 'https://mailer:s3cret-pw@mail.example.com', SMTP_FROM: 'a@example.com' });
    assert.equal(wrongScheme.variable, 'SMTP_URL');
    assert.ok(!wrongScheme.message.includes('s3cret-pw'));
    assert.equal(failure({ SMTP_URL: 'smtp://mail.example.com', SMTP_FROM: 'not an address' }).variable, 'SMTP_FROM');
    assert.equal(failure({ SMTP_URL: 'smtp://mail.example.com', SMTP_FROM: 'a@example.com', PASSWORD_RESET_TOKEN_TTL: '5' }).variable, 'PASSWORD_RESET_TOKEN_TTL');
  });
});
