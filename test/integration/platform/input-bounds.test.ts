// Text and dates at their edges: control characters are a 400 in every text field, and
// dates outside 1900-01-01 … one day ahead are a 400 wherever a date is accepted; dates
// inside the window are stored and read back unchanged on PGlite and PostgreSQL.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser, strongPassword, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

type Json = Record<string, unknown>;

const today = () => new Date().toISOString().slice(0, 10);
const daysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

describe('input bounds: text and dates', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let admin: CreatedUser;
  let pid: string;

  before(async () => {
    t = await buildTestApp();
    [alice, admin] = await Promise.all([createUser(t), createUser(t, { role: 'admin' })]);
    pid = await createPortfolio(t, alice);
  });
  after(() => t.close());

  const deposit = (executedAt: string, note: string | null = null) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/portfolios/${pid}/transactions`,
      headers: alice.headers,
      payload: { type: 'deposit', amount: '100', currency: 'USD', executed_at: executedAt, note },
    });
  const isProblem400 = (res: { statusCode: number; headers: Record<string, unknown>; body: string }, what: string) => {
    assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/, what);
    assert.doesNotMatch(res.body, /at .*\.ts:\d+/, `${what}: no stack`);
  };

  it('FAIL-007: NUL and other control characters in any text field are a 400, and nothing is stored', async () => {
    const portfoliosBefore = (await t.app.inject({ method: 'GET', url: '/v1/portfolios', headers: alice.headers })).json<{ items: unknown[] }>().items.length;
    for (const bad of ['a\u0000b', 'tab\there', 'bell\u0007', 'del\u007f', 'esc\u001b[31m', 'line\nbreak']) {
      const create = await t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: alice.headers, payload: { name: bad, base_currency: 'USD' } });
      isProblem400(create, `create ${JSON.stringify(bad)}`);
      const rename = await t.app.inject({ method: 'PATCH', url: `/v1/portfolios/${pid}`, headers: alice.headers, payload: { name: bad } });
      isProblem400(rename, `rename ${JSON.stringify(bad)}`);
      const register = await t.app.inject({ method: 'POST', url: '/v1/auth/register', payload: { email: `x${bad}@example.test`, password: strongPassword() } });
      isProblem400(register, `register ${JSON.stringify(bad)}`);
      const login = await t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: `${alice.email}${bad}`, password: alice.password } });
      isProblem400(login, `login ${JSON.stringify(bad)}`);
      const refresh = await t.app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refresh_token: `${alice.refreshToken}${bad}` } });
      isProblem400(refresh, `refresh ${JSON.stringify(bad)}`);
      const doc = { format: 'financehub.export', version: 1, portfolios: [{ name: bad, base_currency: 'USD', transactions: [] }] };
      isProblem400(await t.app.inject({ method: 'POST', url: '/v1/import', headers: alice.headers, payload: doc }), `import ${JSON.stringify(bad)}`);
    }
    // Notes are free text: tab and line breaks are allowed, other controls are not.
    for (const bad of ['a\u0000b', 'bell\u0007', 'esc\u001b[31m', 'del\u007f']) {
      isProblem400(await deposit('2024-01-02', bad), `note ${JSON.stringify(bad)}`);
      const csv = `date,type,amount,note\n2024-01-02,deposit,5,"${bad}"\n`;
      const imported = await t.app.inject({ method: 'POST', url: `/v1/portfolios/${pid}/transactions/import`, headers: { ...alice.headers, 'content-type': 'text/csv' }, payload: csv });
      assert.equal(imported.statusCode, 422, `csv note ${JSON.stringify(bad)}: ${imported.body}`);
      assert.equal(imported.json<{ errors: Array<{ field: string }> }>().errors[0]?.field, 'row 2: note');
    }
    const multiline = await deposit('2024-01-02', 'first line\nsecond\tcolumn\r\n');
    assert.equal(multiline.statusCode, 201, multiline.body);
    assert.equal(multiline.json<Json>().note, 'first line\nsecond\tcolumn\r\n');
    await t.app.inject({ method: 'DELETE', url: `/v1/portfolios/${pid}/transactions/${String(multiline.json<Json>().id)}`, headers: alice.headers });
    const portfoliosAfter = (await t.app.inject({ method: 'GET', url: '/v1/portfolios', headers: alice.headers })).json<{ items: unknown[] }>().items.length;
    assert.equal(portfoliosAfter, portfoliosBefore);
  });

  it('FAIL-007: dates before 1900-01-01 or more than a day ahead are a 400 wherever a date is accepted', async () => {
    for (const bad of ['0000-01-01', '0001-01-01', '0100-01-01', '0099-12-31T12:00:00Z', '1899-12-31', '1900-01-01T00:30:00+01:00', daysFromNow(3), '9999-12-31']) {
      const res = await deposit(bad);
      isProblem400(res, `executed_at ${bad}`);
      assert.equal(res.json<{ errors: Array<{ field: string }> }>().errors[0]?.field, 'body.executed_at', bad);
    }
    for (const bad of ['0100-01-01', '1899-12-31', '0000-01-01']) {
      const perf = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/performance?range=custom&from=${bad}&to=2024-01-01`, headers: alice.headers });
      isProblem400(perf, `performance from ${bad}`);
      const list = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions?from=${bad}`, headers: alice.headers });
      isProblem400(list, `transactions from ${bad}`);
      const candles = await t.app.inject({ method: 'GET', url: `/v1/market/candles/AAPL?interval=1d&from=${bad}T00:00:00Z`, headers: alice.headers });
      isProblem400(candles, `candles from ${bad}`);
      const csv = `Date,Open,High,Low,Close,Volume\n${bad},1,1,1,1,0\n`;
      const prices = await t.app.inject({ method: 'POST', url: '/v1/admin/market/prices/OLDCO/import', headers: { ...admin.headers, 'content-type': 'text/csv' }, payload: csv });
      assert.equal(prices.statusCode, 422, `price csv ${bad}: ${prices.body}`);
      const csvTx = `date,type,amount\n${bad},deposit,5\n`;
      const imported = await t.app.inject({ method: 'POST', url: `/v1/portfolios/${pid}/transactions/import`, headers: { ...alice.headers, 'content-type': 'text/csv' }, payload: csvTx });
      assert.equal(imported.statusCode, 422, `csv ${bad}: ${imported.body}`);
    }
    const future = `Date,Open,High,Low,Close,Volume\n${daysFromNow(3)},1,1,1,1,0\n`;
    const prices = await t.app.inject({ method: 'POST', url: '/v1/admin/market/prices/OLDCO/import', headers: { ...admin.headers, 'content-type': 'text/csv' }, payload: future });
    assert.equal(prices.statusCode, 422, prices.body);
  });

  it('FAIL-007: every date in the window is stored and read back unchanged (1900, 1999, 2000, today)', async () => {
    const own = await createPortfolio(t, alice);
    const days = ['1900-01-01', '1999-12-31', '2000-01-01', '2000-02-29', today()];
    for (const day of days) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/portfolios/${own}/transactions`,
        headers: alice.headers,
        payload: { type: 'deposit', amount: '1', currency: 'USD', executed_at: `${day}T12:34:56Z` },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json<Json>().executed_at, `${day}T12:34:56.000Z`);
    }
    const list = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${own}/transactions?sort=executed_at&order=asc`, headers: alice.headers });
    assert.deepEqual(
      list.json<{ items: Json[] }>().items.map((i) => i.executed_at),
      days.map((d) => `${d}T12:34:56.000Z`),
    );
    const exported = (await t.app.inject({ method: 'GET', url: '/v1/export', headers: alice.headers })).json<{ portfolios: Array<{ id: string; transactions: Json[] }> }>();
    const mine = exported.portfolios.find((p) => p.id === own);
    assert.deepEqual(
      mine?.transactions.map((tx) => tx.executed_at),
      days.map((d) => `${d}T12:34:56.000Z`),
    );

    const csv = `Date,Open,High,Low,Close,Volume\n${days.map((d) => `${d},1,2,0.5,1.5,10`).join('\n')}\n`;
    const prices = await t.app.inject({ method: 'POST', url: '/v1/admin/market/prices/OLDCO/import', headers: { ...admin.headers, 'content-type': 'text/csv' }, payload: csv });
    assert.equal(prices.statusCode, 200, prices.body);
    const candles = await t.app.inject({ method: 'GET', url: '/v1/market/candles/OLDCO?interval=1d&from=1900-01-01T00:00:00Z&limit=1000', headers: alice.headers });
    assert.equal(candles.statusCode, 200, candles.body);
    assert.deepEqual(
      candles.json<{ items: Json[] }>().items.map((c) => c.ts),
      days.map((d) => `${d}T00:00:00.000Z`),
    );
  });

  it('FAIL-023: performance since 1900 answers one point per month, not one per day', async () => {
    const own = await createPortfolio(t, alice);
    for (const [day, payload] of [
      ['1900-01-01', { type: 'deposit', amount: '1000', currency: 'USD' }],
      ['1950-06-15', { type: 'buy', symbol: 'OLDCO', quantity: '10', price: '1.5', currency: 'USD' }],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/portfolios/${own}/transactions`, headers: alice.headers, payload: { ...payload, executed_at: day } });
      assert.equal(res.statusCode, 201, res.body);
    }
    const started = performance.now();
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${own}/performance?range=max`, headers: alice.headers });
    const elapsed = performance.now() - started;
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ step: string; days: number; from: string; to: string; series: Array<{ date: string }> }>();
    assert.equal(body.from, '1900-01-01');
    assert.equal(body.step, 'month');
    const months = (new Date().getUTCFullYear() - 1900) * 12 + new Date().getUTCMonth() + 1;
    assert.ok(body.series.length <= months + 1, `${body.series.length} points for ${months} months`);
    assert.equal(body.series.at(-1)?.date, body.to);
    assert.equal(body.series[0]?.date, '1900-01-31');
    assert.ok(elapsed < 10_000, `${elapsed.toFixed(0)} ms`);
  });
});
