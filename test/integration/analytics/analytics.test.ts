// Performance, dashboard and transaction lists through the real app and database. Market
// data comes from the market module's own tables (MARKET_DATA_PROVIDER=none, so the
// stored quotes and daily bars are what it serves); the clock is fixed so ranges are
// deterministic.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Decimal } from '../../../src/money/index.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { createPartitionSql, partitionFor } from '../../../src/modules/market/partitions.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { addTransaction } from '../../helpers/portfolios.ts';

const NOW = new Date('2024-06-30T12:00:00.000Z');
const clock = { now: () => new Date(NOW) };

interface Problem {
  status: number;
  code: string;
}

describe('portfolio analytics', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let bob: CreatedUser;

  const api = async <T = unknown>(user: CreatedUser, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await t.app.inject({ method, url, headers: user.headers, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: res.statusCode, body: res.json<T>() };
  };
  const createPortfolio = async (user: CreatedUser, name: string, base = 'USD') => {
    const res = await api<{ id: string }>(user, 'POST', '/v1/portfolios', { name, base_currency: base });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  };
  const addTx = (user: CreatedUser, portfolioId: string, tx: Record<string, unknown>) => addTransaction(t, user, portfolioId, { currency: 'USD', ...tx });
  const addClose = async (symbol: string, date: string, close: string) => {
    const ts = new Date(`${date}T00:00:00.000Z`);
    // Written by hand here, so the bar's partition is made as the market module would.
    await t.db.query(createPartitionSql(partitionFor('1d', ts)));
    await t.db.query(
      `INSERT INTO price_bars (symbol, "interval", ts, open, high, low, close, volume, source) VALUES ($1, '1d', $2, $3, $3, $3, $3, 0, 'test')`,
      [symbol, ts, close],
    );
  };
  const addQuote = (symbol: string, price: string, previousClose: string | null) =>
    t.db.query(`INSERT INTO quotes (symbol, price, previous_close, as_of, source) VALUES ($1, $2, $3, $4, 'test')`, [symbol, price, previousClose, NOW]);

  before(async () => {
    t = await buildTestApp({ clock, env: { MARKET_DATA_PROVIDER: 'none' } });
    [alice, bob] = await Promise.all([createUser(t), createUser(t)]);
  });
  after(() => t.close());

  describe('GET /v1/portfolios/:id/performance', () => {
    let portfolioId: string;
    before(async () => {
      // test/fixtures/performance/01-deposit-midyear.json, through the API and the database.
      portfolioId = await createPortfolio(alice, 'performance');
      await addTx(alice, portfolioId, { type: 'deposit', amount: '1000', executed_at: '2023-01-01T09:00:00Z' });
      await addTx(alice, portfolioId, { type: 'buy', symbol: 'ABC', quantity: '10', price: '100', executed_at: '2023-01-01T10:00:00Z' });
      await addTx(alice, portfolioId, { type: 'deposit', amount: '1200', executed_at: '2023-07-01T09:00:00Z' });
      await addClose('ABC', '2023-06-30', '120');
      await addClose('ABC', '2023-12-29', '108');
    });

    it('matches the hand-computed fixture for a custom range (TWR 14 %, XIRR 5.0075 %, simple 3.64 %)', async () => {
      const res = await api<Record<string, unknown>>(alice, 'GET', `/v1/portfolios/${portfolioId}/performance?range=custom&from=2023-01-01&to=2023-12-31`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const b = res.body as {
        from: string;
        to: string;
        days: number;
        end_value: string;
        net_contributions: string;
        total_gain: string;
        simple_return: string;
        time_weighted_return: string;
        time_weighted_return_annualized: string;
        money_weighted_return: { status: string; rate: string };
        series: Array<{ date: string; value: string; time_weighted_return: string }>;
      };
      assert.equal(b.from, '2023-01-01');
      assert.equal(b.to, '2023-12-31');
      assert.equal(b.days, 365);
      assert.equal(b.end_value, '2280.00');
      assert.equal(b.net_contributions, '2200.00');
      assert.equal(b.total_gain, '80.00');
      assert.equal(b.simple_return, '0.0363636364');
      assert.equal(b.time_weighted_return, '0.14');
      assert.equal(b.time_weighted_return_annualized, '0.14');
      assert.deepEqual(b.money_weighted_return.status, 'ok');
      assert.equal(b.money_weighted_return.rate, '0.0500750301');
      assert.equal(b.series.length, 365);
      assert.deepEqual(b.series.find((p) => p.date === '2023-07-01'), { date: '2023-07-01', value: '2400.00', net_contributions: '2200.00', time_weighted_return: '0.2' });
    });

    it('range=max starts at the first transaction and ends today; a later period carries the last close forward', async () => {
      const max = await api<{ from: string; to: string; end_value: string }>(alice, 'GET', `/v1/portfolios/${portfolioId}/performance?range=max`);
      assert.equal(max.status, 200);
      assert.equal(max.body.from, '2023-01-01');
      assert.equal(max.body.to, '2024-06-30');
      assert.equal(max.body.end_value, '2280.00');
      const month = await api<{ from: string; start_value: string; time_weighted_return: string; money_weighted_return: { rate: string } }>(
        alice,
        'GET',
        `/v1/portfolios/${portfolioId}/performance?range=1m`,
      );
      assert.equal(month.status, 200);
      assert.equal(month.body.from, '2024-05-31');
      assert.equal(month.body.start_value, '2280.00');
      assert.equal(month.body.time_weighted_return, '0');
      assert.equal(month.body.money_weighted_return.rate, '0');
      const ytd = await api<{ from: string }>(alice, 'GET', `/v1/portfolios/${portfolioId}/performance?range=ytd`);
      assert.equal(ytd.body.from, '2024-01-01');
    });

    it('an empty portfolio answers zeros and no rates', async () => {
      const empty = await createPortfolio(alice, 'empty');
      const res = await api<{ days: number; time_weighted_return: null; money_weighted_return: { status: string } }>(alice, 'GET', `/v1/portfolios/${empty}/performance?range=max`);
      assert.equal(res.status, 200);
      assert.equal(res.body.days, 1);
      assert.equal(res.body.time_weighted_return, null);
      assert.equal(res.body.money_weighted_return.status, 'no_cash_flows');
    });

    it('refuses bad ranges with 400 problem JSON', async () => {
      const cases = [
        'range=custom',
        'range=custom&from=2023-01-01',
        'range=custom&to=2023-01-01',
        'range=custom&from=2023-02-01&to=2023-01-01',
        'range=custom&from=2023-01-01&to=2024-07-01',
        'range=1y&from=2023-01-01',
        'range=2y',
        'range=custom&from=2023-02-30&to=2023-03-01',
        'range=custom&from=20230101&to=2023-03-01',
        'unknown=1',
      ];
      for (const query of cases) {
        const res = await api<Problem>(alice, 'GET', `/v1/portfolios/${portfolioId}/performance?${query}`);
        assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      }
    });

    it("another user's portfolio, or none, answers 404 exactly like a missing one", async () => {
      const foreign = await api<Problem>(bob, 'GET', `/v1/portfolios/${portfolioId}/performance?range=max`);
      const missing = await api<Problem>(bob, 'GET', `/v1/portfolios/00000000-0000-4000-8000-000000000000/performance?range=max`);
      assert.equal(foreign.status, 404);
      assert.equal(missing.status, 404);
      assert.equal(foreign.body.code, missing.body.code);
      const anonymous = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${portfolioId}/performance` });
      assert.equal(anonymous.statusCode, 401);
    });
  });

  describe('GET /v1/dashboard', () => {
    interface Item {
      portfolio_id: string;
      symbol: string;
      market_value: string | null;
      unrealized_pnl: string | null;
      weight: string | null;
      day_change: string | null;
    }
    type Dashboard = { totals: Array<{ currency: string; market_value: string; portfolios: number; day_change: string; cash: string }>; items: Item[]; next_cursor: string | null };
    let carol: CreatedUser;
    let usd: string;
    let usd2: string;
    let eur: string;

    before(async () => {
      carol = await createUser(t);
      usd = await createPortfolio(carol, 'usd');
      usd2 = await createPortfolio(carol, 'usd two');
      eur = await createPortfolio(carol, 'eur', 'EUR');
      const buy = (p: string, symbol: string, quantity: string, price: string, extra: Record<string, unknown> = {}) =>
        addTx(carol, p, { type: 'buy', symbol, quantity, price, executed_at: '2024-06-01T10:00:00Z', ...extra });
      await addTx(carol, usd, { type: 'deposit', amount: '10000', executed_at: '2024-06-01T09:00:00Z' });
      await buy(usd, 'DA', '10', '10');
      await buy(usd, 'DB', '5', '20');
      await buy(usd, 'DC', '3', '30');
      await buy(usd, 'DNOQ', '1', '5');
      await buy(usd2, 'DA', '10', '12');
      await buy(usd2, 'DD', '2', '100');
      await buy(eur, 'DB', '4', '20', { currency: 'USD', fx_rate: '0.9' });
      await buy(eur, 'DE', '1', '50', { currency: 'EUR' });
      await addQuote('DA', '11', '10.5');
      await addQuote('DB', '20', '21');
      await addQuote('DC', '40', null);
      await addQuote('DD', '90', '90');
      await addQuote('DE', '55', '50');
      // DNOQ has no quote: unpriced, null market value, sorts last.
    });

    const keyOf = (item: Item, sort: string): string | null =>
      sort === 'symbol' ? item.symbol : (item[sort as 'market_value' | 'unrealized_pnl' | 'weight' | 'day_change'] ?? null);

    it('totals per base currency', async () => {
      const res = await api<Dashboard>(carol, 'GET', '/v1/dashboard?limit=200');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.totals.map((x) => [x.currency, x.portfolios, x.market_value, x.day_change]),
        [
          // 4 DB x 20 x 0.9 = 72; 1 DE x 55 = 55. Day: 4 x (20 - 21) x 0.9 = -3.6; 1 x (55 - 50) = 5.
          ['EUR', 1, '127.00', '1.40'],
          // 110 + 100 + 120 + 110 + 180 = 620. Day: 10 x .5 + 5 x -1 + 10 x .5 + 0 = 5 (DC has no previous close).
          ['USD', 2, '620.00', '5.00'],
        ],
      );
      assert.equal(res.body.items.length, 8);
    });

    for (const sort of ['symbol', 'market_value', 'unrealized_pnl', 'weight', 'day_change']) {
      for (const order of ['asc', 'desc']) {
        it(`pagination walks every holding exactly once in ${sort} ${order} order`, async () => {
          const seen: Item[] = [];
          let cursor: string | null = null;
          for (let page = 0; page < 20; page++) {
            const url: string = `/v1/dashboard?sort=${sort}&order=${order}&limit=3${cursor === null ? '' : `&cursor=${cursor}`}`;
            const res = await api<Dashboard>(carol, 'GET', url);
            assert.equal(res.status, 200, JSON.stringify(res.body));
            assert.ok(res.body.items.length <= 3);
            seen.push(...res.body.items);
            cursor = res.body.next_cursor;
            if (cursor === null) break;
          }
          const ids = seen.map((i) => `${i.portfolio_id}/${i.symbol}`);
          assert.equal(new Set(ids).size, 8, 'each holding once');
          assert.equal(ids.length, 8);
          // Right order: by key (nulls last either way), ties by portfolio id/symbol, all in the requested direction.
          for (let i = 1; i < seen.length; i++) {
            const a = seen[i - 1] as Item;
            const b = seen[i] as Item;
            const ka = keyOf(a, sort);
            const kb = keyOf(b, sort);
            if (ka === null) {
              assert.equal(kb, null, `nulls last (${ids.join(' ')})`);
              continue;
            }
            if (kb === null) continue;
            let c = sort === 'symbol' ? (ka < kb ? -1 : ka > kb ? 1 : 0) : new Decimal(ka).comparedTo(new Decimal(kb));
            if (c === 0) c = ids[i - 1]! < ids[i]! ? -1 : 1;
            assert.ok(order === 'asc' ? c < 0 : c > 0, `${sort} ${order}: ${ids[i - 1]} (${ka}) before ${ids[i]} (${kb})`);
          }
        });
      }
    }

    it('filters: symbol prefix (any case), portfolio id, minimum market value', async () => {
      const prefix = await api<Dashboard>(carol, 'GET', '/v1/dashboard?symbol=da&sort=symbol&order=asc');
      assert.deepEqual(prefix.body.items.map((i) => i.portfolio_id).sort(), [usd, usd2].sort());
      const one = await api<Dashboard>(carol, 'GET', `/v1/dashboard?portfolio_id=${eur}&sort=symbol&order=asc`);
      assert.deepEqual(one.body.items.map((i) => i.symbol), ['DB', 'DE']);
      const min = await api<Dashboard>(carol, 'GET', '/v1/dashboard?min_market_value=110.5&sort=market_value&order=desc');
      assert.deepEqual(min.body.items.map((i) => i.market_value), ['180.00', '120.00']);
      const foreign = await api<Dashboard>(bob, 'GET', `/v1/dashboard?portfolio_id=${usd}`);
      assert.equal(foreign.status, 200);
      assert.deepEqual(foreign.body.items, []);
    });
  });

  describe('GET /v1/dashboard across portfolios of different scales', () => {
    // Each portfolio's amounts live at the smallest exact scale of its own ledger; the
    // dashboard must put them on one scale before it sorts, filters and pages. These
    // values differ only far beyond the display places.
    it('sorts and filters by exact values, not by the displayed ones', async () => {
      type Item = { portfolio_id: string; symbol: string; market_value: string; day_change: string };
      const dave = await createUser(t);
      const fine = await createPortfolio(dave, 'fine', 'EUR');
      const coarse = await createPortfolio(dave, 'coarse');
      // 2 × 11 × 0.123456789012 = 2.716049358264 (a ledger at 13 places); day change
      // 2 × 0.000000000001 × 0.123456789012 = 0.000000000000246913578024 (24 places).
      await addTx(dave, fine, { type: 'buy', symbol: 'XSA', quantity: '2', price: '10.5', fx_rate: '0.123456789012', executed_at: '2024-06-01T10:00:00Z' });
      await addQuote('XSA', '11', '10.999999999999');
      // 1 × 2.716049358265: a millionth of a millionth more; day change 0.000000000001.
      await addTx(dave, coarse, { type: 'buy', symbol: 'XSB', quantity: '1', price: '2.7', executed_at: '2024-06-01T10:00:00Z' });
      await addQuote('XSB', '2.716049358265', '2.716049358264');

      const byValue = await api<{ items: Item[] }>(dave, 'GET', '/v1/dashboard?sort=market_value&order=desc');
      assert.equal(byValue.status, 200, JSON.stringify(byValue.body));
      assert.deepEqual(byValue.body.items.map((i) => [i.symbol, i.market_value]), [['XSB', '2.72'], ['XSA', '2.72']]);
      const byChange = await api<{ items: Item[] }>(dave, 'GET', '/v1/dashboard?sort=day_change&order=asc');
      assert.deepEqual(byChange.body.items.map((i) => [i.symbol, i.day_change]), [['XSA', '0.00'], ['XSB', '0.00']]);
      const min = await api<{ items: Item[] }>(dave, 'GET', '/v1/dashboard?min_market_value=2.7160493582645');
      assert.deepEqual(min.body.items.map((i) => i.symbol), ['XSB']);
      // a cursor taken between the two holdings resumes exactly after the first
      const first = await api<{ items: Item[]; next_cursor: string | null }>(dave, 'GET', '/v1/dashboard?sort=market_value&order=desc&limit=1');
      assert.ok(first.body.next_cursor !== null);
      const second = await api<{ items: Item[] }>(dave, 'GET', `/v1/dashboard?sort=market_value&order=desc&limit=1&cursor=${first.body.next_cursor}`);
      assert.deepEqual(second.body.items.map((i) => i.symbol), ['XSA']);
    });
  });

  describe('GET /v1/portfolios/:id/transactions', () => {
    let portfolioId: string;
    const created: Array<{ id: string; type: string; symbol: string | null; executed_at: string }> = [];

    before(async () => {
      portfolioId = await createPortfolio(alice, 'list');
      const plan: Array<Record<string, unknown>> = [
        { type: 'deposit', amount: '5000', executed_at: '2024-01-01T09:00:00.000Z' },
        { type: 'buy', symbol: 'LB', quantity: '5', price: '10', executed_at: '2024-01-02T10:00:00.000Z' },
        { type: 'buy', symbol: 'LA', quantity: '5', price: '10', executed_at: '2024-01-02T10:00:00.000Z' },
        { type: 'buy', symbol: 'LC', quantity: '1', price: '10', executed_at: '2024-01-02T10:00:00.000Z' },
        { type: 'fee', amount: '1', executed_at: '2024-01-03T10:00:00.000Z' },
        { type: 'sell', symbol: 'LA', quantity: '2', price: '11', executed_at: '2024-02-01T10:00:00.000Z' },
        { type: 'dividend', symbol: 'LB', amount: '3', executed_at: '2024-02-15T10:00:00.000Z' },
        { type: 'split', symbol: 'LB', ratio_numerator: 2, ratio_denominator: 1, executed_at: '2024-03-01T00:00:00.000Z' },
        { type: 'interest', amount: '2', executed_at: '2024-03-31T10:00:00.000Z' },
        { type: 'withdrawal', amount: '100', executed_at: '2024-04-01T10:00:00.000Z' },
        { type: 'buy', symbol: 'LA', quantity: '1', price: '12', executed_at: '2024-04-01T10:00:00.000Z' },
      ];
      for (const tx of plan) {
        const id = await addTx(alice, portfolioId, tx);
        created.push({ id, type: tx.type as string, symbol: (tx.symbol as string | undefined) ?? null, executed_at: tx.executed_at as string });
      }
    });

    const walk = async (query: string, limit: number) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const url: string = `/v1/portfolios/${portfolioId}/transactions?${query}&limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`;
        const res = await api<{ items: Array<{ id: string }>; next_cursor: string | null }>(alice, 'GET', url);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        ids.push(...res.body.items.map((i) => i.id));
        cursor = res.body.next_cursor;
        if (cursor === null) return ids;
      }
      throw new Error('pagination did not end');
    };

    for (const sort of ['executed_at', 'created_at', 'symbol', 'type'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        it(`cursor pagination walks every transaction exactly once in ${sort} ${order} order`, async () => {
          // Ties on the key fall back to the order of recording, in the same direction.
          const key = (tx: (typeof created)[number], index: number): string =>
            sort === 'executed_at' ? tx.executed_at : sort === 'created_at' ? String(index).padStart(4, '0') : sort === 'symbol' ? (tx.symbol ?? '') : tx.type;
          const expected = created
            .map((tx, index) => ({ tx, index, k: key(tx, index) }))
            .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : a.index - b.index) * (order === 'asc' ? 1 : -1))
            .map((x) => x.tx.id);
          for (const limit of [1, 4, 20]) assert.deepEqual(await walk(`sort=${sort}&order=${order}`, limit), expected, `limit ${limit}`);
        });
      }
    }

    it('filters by type, symbol (any case) and executed date range', async () => {
      const ids = (list: typeof created) => list.map((x) => x.id);
      assert.deepEqual(new Set(await walk('type=buy', 2)), new Set(ids(created.filter((x) => x.type === 'buy'))));
      assert.deepEqual(new Set(await walk('symbol=la', 2)), new Set(ids(created.filter((x) => x.symbol === 'LA'))));
      assert.deepEqual(
        new Set(await walk('from=2024-01-02&to=2024-02-15', 3)),
        new Set(ids(created.filter((x) => x.executed_at >= '2024-01-02' && x.executed_at < '2024-02-16'))),
      );
      assert.deepEqual(new Set(await walk('from=2024-04-01T10:00:00.000Z&type=buy&symbol=LA', 3)), new Set([created[10]?.id]));
      const reversed = await api<Problem>(alice, 'GET', `/v1/portfolios/${portfolioId}/transactions?from=2024-03-01&to=2024-02-01`);
      assert.equal(reversed.status, 400);
      const foreign = await api<Problem>(bob, 'GET', `/v1/portfolios/${portfolioId}/transactions`);
      assert.equal(foreign.status, 404);
    });
  });
});
