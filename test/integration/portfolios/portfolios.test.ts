import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal, formatAmount } from '../../../src/money/index.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

type Json = Record<string, unknown>;

describe('portfolios, transactions and holdings', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let bob: CreatedUser;

  before(async () => {
    t = await buildTestApp();
    [alice, bob] = await Promise.all([createUser(t), createUser(t)]);
  });
  after(() => t.close());

  const newPortfolio = (user: CreatedUser, base = 'USD') => createPortfolio(t, user, base);
  function post(user: CreatedUser, portfolioId: string, payload: Json, headers: Record<string, string> = {}) {
    return t.app.inject({ method: 'POST', url: `/v1/portfolios/${portfolioId}/transactions`, headers: { ...user.headers, ...headers }, payload });
  }
  async function record(user: CreatedUser, portfolioId: string, payload: Json): Promise<Json> {
    const res = await post(user, portfolioId, payload);
    assert.equal(res.statusCode, 201, res.body);
    return res.json<Json>();
  }
  async function holdings(user: CreatedUser, portfolioId: string) {
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/holdings`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: Array<Json & { lots: Json[] }>; cash: string; totals: Json }>();
  }
  const count = async (table: string) => (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;

  it('portfolio CRUD for the caller, with validated base currency', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: alice.headers, payload: { name: 'Main', base_currency: 'EUR' } });
    assert.equal(created.statusCode, 201);
    const p = created.json<Json>();
    assert.equal(p.name, 'Main');
    assert.equal(p.base_currency, 'EUR');
    const id = p.id as string;

    const list = await t.app.inject({ method: 'GET', url: '/v1/portfolios', headers: alice.headers });
    assert.ok(list.json<{ items: Json[] }>().items.some((i) => i.id === id));
    const renamed = await t.app.inject({ method: 'PATCH', url: `/v1/portfolios/${id}`, headers: alice.headers, payload: { name: 'Renamed' } });
    assert.equal(renamed.json<Json>().name, 'Renamed');

    const bad = await t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: alice.headers, payload: { name: 'X', base_currency: 'ZZZ' } });
    assert.equal(bad.statusCode, 400);
    const noAuth = await t.app.inject({ method: 'GET', url: '/v1/portfolios' });
    assert.equal(noAuth.statusCode, 401);

    const del = await t.app.inject({ method: 'DELETE', url: `/v1/portfolios/${id}`, headers: alice.headers });
    assert.equal(del.statusCode, 204);
    const gone = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${id}`, headers: alice.headers });
    assert.equal(gone.statusCode, 404);
  });

  it('records a buy with upper-cased symbol, default fee and fx 1, and answers 201 with the stored transaction', async () => {
    const pid = await newPortfolio(alice);
    const tx = await record(alice, pid, { type: 'buy', symbol: 'brk.b', quantity: '10', price: '101.25', executed_at: '2024-01-02T15:00:00Z' });
    assert.equal(tx.symbol, 'BRK.B');
    assert.equal(tx.fee, '0');
    assert.equal(tx.fx_rate, '1');
    assert.equal(tx.currency, 'USD');
    assert.equal(tx.amount, null);
    const one = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions/${String(tx.id)}`, headers: alice.headers });
    assert.deepEqual(one.json(), tx);
  });

  it('FAIL-002: a JSON number in a money field is a 400 naming the field, and nothing is written', async () => {
    const pid = await newPortfolio(alice);
    const before = await count('transactions');
    for (const field of ['quantity', 'price', 'fee', 'fx_rate']) {
      const payload: Json = { type: 'buy', symbol: 'AAPL', quantity: '1', price: '1', currency: 'EUR', fx_rate: '1.1', executed_at: '2024-01-02' };
      payload[field] = 0.1;
      const res = await post(alice, pid, payload);
      assert.equal(res.statusCode, 400, field);
      const body = res.json<{ errors: Array<{ field: string; message: string }> }>();
      assert.equal(body.errors[0]?.field, `body.${field}`);
      assert.equal(body.errors[0]?.message, 'must be a decimal string, not a JSON number: send decimals as strings, e.g. "12.50"');
    }
    const amount = await post(alice, pid, { type: 'deposit', amount: 100.5, executed_at: '2024-01-02' });
    assert.equal(amount.statusCode, 400);
    assert.match(amount.body, /body\.amount/);
    for (const bad of ['1e5', '1.', '.5', ' 1', 'NaN', '0x10', '1,5']) {
      const res = await post(alice, pid, { type: 'deposit', amount: bad, executed_at: '2024-01-02' });
      assert.equal(res.statusCode, 400, bad);
    }
    assert.equal(await count('transactions'), before);
  });

  it('validates each type’s fields, currency, fx_rate, note and dates with the field named', async () => {
    const pid = await newPortfolio(alice, 'EUR');
    const cases: Array<[Json, string]> = [
      [{ type: 'buy', symbol: 'AAPL', price: '1', executed_at: '2024-01-02' }, 'body.quantity'],
      [{ type: 'buy', symbol: 'AAPL', quantity: '0', price: '1', executed_at: '2024-01-02' }, 'body.quantity'],
      [{ type: 'buy', symbol: 'AAPL', quantity: '1', price: '1', currency: 'USD', executed_at: '2024-01-02' }, 'body.fx_rate'],
      [{ type: 'buy', symbol: 'AAPL', quantity: '1', price: '1', currency: 'EUR', fx_rate: '2', executed_at: '2024-01-02' }, 'body.fx_rate'],
      [{ type: 'buy', symbol: 'AAPL', quantity: '1', price: '1', currency: 'XYZ', fx_rate: '2', executed_at: '2024-01-02' }, 'body.currency'],
      [{ type: 'buy', symbol: 'AA PL', quantity: '1', price: '1', executed_at: '2024-01-02' }, 'body.symbol'],
      [{ type: 'deposit', symbol: 'AAPL', amount: '5', executed_at: '2024-01-02' }, 'body.symbol'],
      [{ type: 'dividend', amount: '5', executed_at: '2024-01-02' }, 'body.symbol'],
      [{ type: 'split', symbol: 'AAPL', ratio_numerator: 2, executed_at: '2024-01-02' }, 'body.ratio_denominator'],
      [{ type: 'split', symbol: 'AAPL', ratio_numerator: 1.5, ratio_denominator: 1, executed_at: '2024-01-02' }, 'body.ratio_numerator'],
      [{ type: 'deposit', amount: '5', executed_at: '2024-02-30' }, 'body.executed_at'],
      [{ type: 'deposit', amount: '5', executed_at: '2999-01-01' }, 'body.executed_at'],
      [{ type: 'deposit', amount: '5', executed_at: '2024-01-02', note: 'x'.repeat(501) }, 'body.note'],
      [{ type: 'deposit', amount: '5', executed_at: '2024-01-02', extra: 1 }, 'body.extra'],
      [{ type: 'transfer', amount: '5', executed_at: '2024-01-02' }, 'body.type'],
    ];
    for (const [payload, field] of cases) {
      const res = await post(alice, pid, payload);
      assert.equal(res.statusCode, 400, `${JSON.stringify(payload)} → ${res.body}`);
      assert.ok(
        res.json<{ errors: Array<{ field: string }> }>().errors.some((e) => e.field.startsWith(field)),
        `${field} named in ${res.body}`,
      );
    }
  });

  it('selling more than held answers 422 insufficient_quantity, also when an edit or delete would uncover a later sell', async () => {
    const pid = await newPortfolio(alice);
    const b1 = await record(alice, pid, { type: 'buy', symbol: 'MSFT', quantity: '10', price: '300', executed_at: '2024-01-02' });
    const over = await post(alice, pid, { type: 'sell', symbol: 'MSFT', quantity: '10.5', price: '310', executed_at: '2024-01-03' });
    assert.equal(over.statusCode, 422);
    assert.equal(over.json<Json>().code, 'insufficient_quantity');
    // a sell dated before the buy is oversold at that point in time
    const early = await post(alice, pid, { type: 'sell', symbol: 'MSFT', quantity: '1', price: '310', executed_at: '2024-01-01' });
    assert.equal(early.json<Json>().code, 'insufficient_quantity');

    await record(alice, pid, { type: 'sell', symbol: 'MSFT', quantity: '8', price: '310', executed_at: '2024-01-04' });
    const url = `/v1/portfolios/${pid}/transactions/${String(b1.id)}`;
    const shrink = await t.app.inject({ method: 'PATCH', url, headers: alice.headers, payload: { quantity: '7' } });
    assert.equal(shrink.statusCode, 422);
    assert.equal(shrink.json<Json>().code, 'insufficient_quantity');
    const del = await t.app.inject({ method: 'DELETE', url, headers: alice.headers });
    assert.equal(del.statusCode, 422);
    const moveLater = await t.app.inject({ method: 'PATCH', url, headers: alice.headers, payload: { executed_at: '2024-01-05' } });
    assert.equal(moveLater.statusCode, 422);
    // a reverse split between the buy and the sell would leave the sell uncovered
    const reverse = await post(alice, pid, { type: 'split', symbol: 'MSFT', ratio_numerator: 1, ratio_denominator: 2, executed_at: '2024-01-03T12:00:00Z' });
    assert.equal(reverse.json<Json>().code, 'insufficient_quantity');
    // moving the sell to a symbol that is not held
    const sells = (await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions`, headers: alice.headers })).json<{ items: Json[] }>().items;
    const sellId = String(sells.find((i) => i.type === 'sell')?.id);
    const moved = await t.app.inject({ method: 'PATCH', url: `/v1/portfolios/${pid}/transactions/${sellId}`, headers: alice.headers, payload: { symbol: 'AAPL' } });
    assert.equal(moved.json<Json>().code, 'insufficient_quantity');
    // a valid edit recomputes the holdings (also after they were read, and cached, before it)
    assert.equal((await holdings(alice, pid)).items[0]?.quantity, '2');
    const grow = await t.app.inject({ method: 'PATCH', url, headers: alice.headers, payload: { quantity: '12', fee: '1.5' } });
    assert.equal(grow.statusCode, 200, grow.body);
    assert.equal(grow.json<Json>().quantity, '12');
    const h = await holdings(alice, pid);
    assert.equal(h.items[0]?.quantity, '4');
    assert.equal(h.items[0]?.realized_pnl, '79.00'); // 8 × 310 − 8/12 × 3601.5
    const removeSell = await t.app.inject({ method: 'DELETE', url: `/v1/portfolios/${pid}/transactions/${sellId}`, headers: alice.headers });
    assert.equal(removeSell.statusCode, 204);
    const after = await holdings(alice, pid);
    assert.equal(after.items[0]?.quantity, '12');
    assert.equal(after.items[0]?.realized_pnl, '0.00');
  });

  it('Idempotency-Key: a repeat returns the first result and writes nothing; another body with the key is refused', async () => {
    const pid = await newPortfolio(alice);
    const key = randomUUID();
    const payload = { type: 'deposit', amount: '1000', executed_at: '2024-01-02' };
    const first = await post(alice, pid, payload, { 'idempotency-key': key });
    assert.equal(first.statusCode, 201);
    const before = await count('transactions');
    const again = await post(alice, pid, { executed_at: '2024-01-02', amount: '1000', type: 'deposit' }, { 'idempotency-key': key });
    assert.equal(again.statusCode, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.json(), first.json());
    assert.equal(await count('transactions'), before);

    const other = await post(alice, pid, { ...payload, amount: '2000' }, { 'idempotency-key': key });
    assert.equal(other.statusCode, 422);
    assert.equal(other.json<Json>().code, 'idempotency_key_reused');
    assert.equal(await count('transactions'), before);

    // keys are per user: Bob's use of the same key is his own request
    const bobPid = await newPortfolio(bob);
    const bobs = await post(bob, bobPid, payload, { 'idempotency-key': key });
    assert.equal(bobs.statusCode, 201);
    assert.notEqual(bobs.json<Json>().id, first.json<Json>().id);

    // a failed request leaves no claim: the key can be used once it is fixed
    const failKey = randomUUID();
    const failed = await post(alice, pid, { type: 'sell', symbol: 'ZZ', quantity: '1', price: '1', executed_at: '2024-01-02' }, { 'idempotency-key': failKey });
    assert.equal(failed.statusCode, 422);
    const fixed = await post(alice, pid, payload, { 'idempotency-key': failKey });
    assert.equal(fixed.statusCode, 201);

    const portfolioKey = randomUUID();
    const p1 = await t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: { ...alice.headers, 'idempotency-key': portfolioKey }, payload: { name: 'Once', base_currency: 'USD' } });
    const p2 = await t.app.inject({ method: 'POST', url: '/v1/portfolios', headers: { ...alice.headers, 'idempotency-key': portfolioKey }, payload: { name: 'Once', base_currency: 'USD' } });
    assert.equal(p2.statusCode, 201);
    assert.equal(p2.json<Json>().id, p1.json<Json>().id);
  });

  it('concurrent repeats of one Idempotency-Key write once; concurrent sells cannot oversell', async () => {
    const pid = await newPortfolio(alice);
    const key = randomUUID();
    const payload = { type: 'buy', symbol: 'RACE', quantity: '10', price: '5', executed_at: '2024-01-02' };
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(alice, pid, payload, { 'idempotency-key': key })));
    assert.deepEqual(new Set(answers.map((a) => a.statusCode)), new Set([201]));
    assert.equal(new Set(answers.map((a) => a.json<Json>().id)).size, 1);
    const stored = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions WHERE portfolio_id = $1', [pid]);
    assert.equal(stored.rows[0]?.n, 1);

    const sells = await Promise.all(
      Array.from({ length: 4 }, () => post(alice, pid, { type: 'sell', symbol: 'RACE', quantity: '10', price: '6', executed_at: '2024-01-03' })),
    );
    assert.deepEqual(sells.map((r) => r.statusCode).sort(), [201, 422, 422, 422]);
    assert.equal((await holdings(alice, pid)).items.length, 0);
  });

  it('holdings: FIFO lots, splits, income, fees, fx and cash in the base currency', async () => {
    const pid = await newPortfolio(alice, 'EUR');
    await record(alice, pid, { type: 'deposit', amount: '10000', executed_at: '2024-01-01' });
    await record(alice, pid, { type: 'buy', symbol: 'AAPL', quantity: '10', price: '100', fee: '1', currency: 'USD', fx_rate: '0.9', executed_at: '2024-01-02' });
    await record(alice, pid, { type: 'buy', symbol: 'AAPL', quantity: '10', price: '110', currency: 'USD', fx_rate: '0.92', executed_at: '2024-01-03' });
    await record(alice, pid, { type: 'split', symbol: 'AAPL', ratio_numerator: 2, ratio_denominator: 1, executed_at: '2024-01-04' });
    await record(alice, pid, { type: 'sell', symbol: 'AAPL', quantity: '25', price: '60', fee: '2', currency: 'USD', fx_rate: '0.95', executed_at: '2024-01-05' });
    await record(alice, pid, { type: 'dividend', symbol: 'AAPL', amount: '3', fee: '0.45', currency: 'USD', fx_rate: '0.95', executed_at: '2024-01-06' });
    await record(alice, pid, { type: 'interest', amount: '0.1', executed_at: '2024-01-07' });
    await record(alice, pid, { type: 'interest', amount: '0.2', executed_at: '2024-01-07' });
    await record(alice, pid, { type: 'fee', amount: '5', executed_at: '2024-01-08', note: 'custody' });
    const h = await holdings(alice, pid);
    const aapl = h.items[0];
    assert.ok(aapl);
    assert.equal(aapl.symbol, 'AAPL');
    assert.equal(aapl.quantity, '15');
    // lot 1 (20 shares after split, cost 900.9 EUR) sold whole, lot 2 (20 shares, 1012 EUR) sold 5 → 253 consumed
    assert.equal(aapl.cost_basis, '759.00');
    assert.equal(aapl.average_cost, '50.6');
    assert.deepEqual(aapl.lots.map((l) => [l.quantity, l.unit_cost, l.cost_basis]), [['15', '50.6', '759.00']]);
    // proceeds (25 × 60 − 2) × 0.95 = 1423.1; − (900.9 + 253) = 269.2
    assert.equal(aapl.realized_pnl, '269.20');
    assert.equal(aapl.dividends, '2.85');
    assert.equal(aapl.fees, String('3.23')); // 0.9 + 1.9 + 0.4275 → 3.2275 → 3.23
    // valued at the market module's latest quote (the simulated provider in tests), in
    // base currency at the fx_rate of the latest AAPL trade (0.95)
    assert.equal(typeof aapl.price, 'string');
    const value = new Decimal(String(aapl.price)).times(15).times('0.95');
    assert.equal(aapl.market_value, formatAmount(value, 'EUR'));
    assert.equal(aapl.unrealized_pnl, formatAmount(value.minus('759'), 'EUR'));
    assert.equal(aapl.weight, '100');
    assert.equal(h.totals.total_value, formatAmount(value.plus('9507.9225'), 'EUR'));
    // cash: 10000 − 900.9 − 1012 + 1423.1 + (2.85 − 0.4275) + 0.3 − 5 = 9507.9225
    assert.equal(h.cash, '9507.92');
    assert.equal(h.totals.interest, '0.30');
    assert.deepEqual(h.totals.unpriced_symbols, []);
  });

  it('property: decimal strings round-trip through the API and the database unchanged', async () => {
    const pid = await newPortfolio(alice);
    const decimal = fc
      .tuple(fc.integer({ min: 0, max: 999_999 }), fc.integer({ min: 0, max: 10 }), fc.bigInt({ min: 1n, max: 9_999_999_999n }))
      .map(([int, scale, frac]) => (scale === 0 ? `${int + 1}` : `${int}.${frac.toString().padStart(10, '0').slice(0, scale - 1)}${(frac % 9n) + 1n}`));
    await fc.assert(
      fc.asyncProperty(decimal, decimal, async (quantity, price) => {
        const tx = await record(alice, pid, { type: 'buy', symbol: 'RT', quantity, price, executed_at: '2024-01-02' });
        assert.equal(tx.quantity, quantity);
        assert.equal(tx.price, price);
        const stored = await t.db.query<{ q: string }>('SELECT quantity::text AS q FROM transactions WHERE id = $1', [tx.id]);
        assert.equal(stored.rows[0]?.q, quantity);
      }),
      { numRuns: 25 },
    );
    const tiny = await record(alice, pid, { type: 'buy', symbol: 'TINY', quantity: '0.0000000001', price: '0.00000001', executed_at: '2024-01-02' });
    assert.equal(tiny.quantity, '0.0000000001');
    const cashPid = await newPortfolio(alice);
    await record(alice, cashPid, { type: 'deposit', amount: '0.1', executed_at: '2024-01-02' });
    await record(alice, cashPid, { type: 'deposit', amount: '0.2', executed_at: '2024-01-02' });
    assert.equal((await holdings(alice, cashPid)).cash, '0.30');
    const h = await holdings(alice, pid);
    assert.equal(h.items.find((i) => i.symbol === 'TINY')?.quantity, '0.0000000001');
  });

  it('FAIL-013: user B reading, changing or deleting user A’s portfolio, transactions and holdings gets 404 with no data', async () => {
    const pid = await newPortfolio(alice);
    const tx = await record(alice, pid, { type: 'deposit', amount: '50', executed_at: '2024-01-02' });
    const tid = String(tx.id);
    const attempts: Array<{ method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'; url: string; payload?: Json }> = [
      { method: 'GET', url: `/v1/portfolios/${pid}` },
      { method: 'PATCH', url: `/v1/portfolios/${pid}`, payload: { name: 'mine now' } },
      { method: 'GET', url: `/v1/portfolios/${pid}/transactions` },
      { method: 'POST', url: `/v1/portfolios/${pid}/transactions`, payload: { type: 'deposit', amount: '1', executed_at: '2024-01-02' } },
      { method: 'GET', url: `/v1/portfolios/${pid}/transactions/${tid}` },
      { method: 'PUT', url: `/v1/portfolios/${pid}/transactions/${tid}`, payload: { type: 'deposit', amount: '9', executed_at: '2024-01-02' } },
      { method: 'PATCH', url: `/v1/portfolios/${pid}/transactions/${tid}`, payload: { amount: '9' } },
      { method: 'DELETE', url: `/v1/portfolios/${pid}/transactions/${tid}` },
      { method: 'GET', url: `/v1/portfolios/${pid}/holdings` },
      { method: 'DELETE', url: `/v1/portfolios/${pid}` },
    ];
    const missing = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${randomUUID()}`, headers: bob.headers });
    for (const attempt of attempts) {
      const res = await t.app.inject({ ...attempt, headers: bob.headers });
      assert.equal(res.statusCode, 404, `${attempt.method} ${attempt.url}: ${res.body}`);
      const body = res.json<Json>();
      assert.equal(body.code, 'not_found');
      assert.doesNotMatch(res.body, /"amount"|deposit|"items"/);
      if (attempt.url.endsWith(pid)) assert.equal(body.detail, missing.json<Json>().detail);
    }
    // Bob's own portfolio does not open Alice's transaction either
    const bobPid = await newPortfolio(bob);
    const cross = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${bobPid}/transactions/${tid}`, headers: bob.headers });
    assert.equal(cross.statusCode, 404);
    const still = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions/${tid}`, headers: alice.headers });
    assert.equal(still.json<Json>().amount, '50');
    assert.notEqual((await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}`, headers: alice.headers })).json<Json>().name, 'mine now');
  });

  it('FAIL-007: malformed ids answer 400, not 500', async () => {
    for (const url of ['/v1/portfolios/not-a-uuid', `/v1/portfolios/${randomUUID()}/transactions/1%20OR%201=1`, "/v1/portfolios/1';DROP TABLE transactions--/holdings"]) {
      const res = await t.app.inject({ method: 'GET', url, headers: alice.headers });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
    }
  });
});
