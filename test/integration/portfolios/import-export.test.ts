import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { importTransactionsFile } from '../../../src/cli/commands/import-transactions.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

type Json = Record<string, unknown>;

const BROKER_CSV = `Trade Date,Ticker,Action,Shares,Unit Price,Commission,CCY,FX_Rate,Comment
2024-01-02,aapl,BUY,10,100.5,1,USD,,first buy
2024-01-03,AAPL,Bought,5,101,0,USD,,
2024-01-04,MSFT,buy,2,300,0.5,EUR,1.1,in euros
2024-01-05,AAPL,Sold,12,110,1.25,USD,,
`;

describe('transaction import and export', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let bob: CreatedUser;

  before(async () => {
    t = await buildTestApp();
    [alice, bob] = await Promise.all([createUser(t), createUser(t)]);
  });
  after(() => t.close());

  const newPortfolio = (user: CreatedUser, base = 'USD') => createPortfolio(t, user, base);
  function importCsv(user: CreatedUser, pid: string, csv: string, dryRun = false) {
    return t.app.inject({
      method: 'POST',
      url: `/v1/portfolios/${pid}/transactions/import${dryRun ? '?dryRun=true' : ''}`,
      headers: { ...user.headers, 'content-type': 'text/csv' },
      payload: csv,
    });
  }
  const countFor = async (pid: string) =>
    (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions WHERE portfolio_id = $1', [pid])).rows[0]?.n;
  async function holdings(user: CreatedUser, pid: string) {
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/holdings?include_closed=true`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<Json>();
  }

  it('imports a broker CSV with header aliases, and skips exact duplicates on a re-import', async () => {
    const pid = await newPortfolio(alice);
    const dry = await importCsv(alice, pid, BROKER_CSV, true);
    assert.equal(dry.statusCode, 200, dry.body);
    const { statuses, ...summary } = dry.json<Json & { statuses: Json[] }>();
    assert.deepEqual(summary, { dry_run: true, valid: true, rows: 4, imported: 0, would_import: 4, duplicates: 0, skipped: 0, errors: [] });
    assert.deepEqual(statuses.map((s) => s.status), ['would_import', 'would_import', 'would_import', 'would_import']);
    assert.equal(await countFor(pid), 0);

    const real = await importCsv(alice, pid, BROKER_CSV);
    assert.equal(real.statusCode, 201, real.body);
    assert.equal(real.json<Json>().imported, 4);
    const list = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions`, headers: alice.headers });
    const items = list.json<{ items: Json[] }>().items;
    assert.equal(items.length, 4);
    const msft = items.find((i) => i.symbol === 'MSFT');
    assert.equal(msft?.currency, 'EUR');
    assert.equal(msft?.fx_rate, '1.1');
    assert.equal(msft?.note, 'in euros');
    assert.equal(items.find((i) => i.note === 'first buy')?.symbol, 'AAPL');

    const again = await importCsv(alice, pid, BROKER_CSV);
    assert.equal(again.statusCode, 201);
    assert.equal(again.json<Json>().imported, 0);
    assert.equal(again.json<Json>().duplicates, 4);
    assert.equal(await countFor(pid), 4);
  });

  it('a dry run reports every bad row with line, field and reason; a real run with a bad row writes nothing', async () => {
    const pid = await newPortfolio(alice);
    const csv = `date,symbol,type,qty,price,fee,currency,fx_rate,note,amount,ratio
2024-01-02,AAPL,buy,10,100,,,,,,
2024-13-02,AAPL,buy,1,100,,,,,,
2024-01-03,AAPL,buy,1e3,100,,,,,,
2024-01-03,AAPL,purchase,1,-5,,,,,,
2024-01-04,AAPL,sell,11,100,,,,,,
2024-01-04,AAPL,transfer,1,1,,,,,,
2024-01-05,,deposit,,,,GBP,,,100,
2024-01-06,AAPL,split,,,,,,,,3:x
2024-01-07,AAPL,split,,,,,,,,2:1
`;
    const dry = await importCsv(alice, pid, csv, true);
    assert.equal(dry.statusCode, 200, dry.body);
    const body = dry.json<{ valid: boolean; errors: Array<{ row: number; field: string; reason: string }> }>();
    assert.equal(body.valid, false);
    const found = body.errors.map((e) => `${e.row}:${e.field}`);
    for (const expected of ['3:executed_at', '4:quantity', '5:price', '6:quantity', '7:type', '8:fx_rate', '9:ratio']) {
      assert.ok(found.includes(expected), `${expected} in ${JSON.stringify(body.errors)}`);
    }
    assert.match(body.errors.find((e) => e.row === 6)?.reason ?? '', /insufficient_quantity/);
    assert.equal(await countFor(pid), 0);

    const real = await importCsv(alice, pid, csv);
    assert.equal(real.statusCode, 422);
    assert.equal(real.json<Json>().code, 'import_invalid');
    assert.ok(Array.isArray(real.json<Json>().rows));
    assert.equal(await countFor(pid), 0);

    const notCsv = await importCsv(alice, pid, 'date,type\n"2024-01-01,buy\n');
    assert.equal(notCsv.statusCode, 400);
    assert.equal(notCsv.json<Json>().code, 'invalid_csv');
    const noHeader = await importCsv(alice, pid, 'when,what\n2024-01-01,buy\n', true);
    assert.deepEqual(
      noHeader.json<{ errors: Array<{ field: string }> }>().errors.filter((e) => e.field === 'executed_at' || e.field === 'type').length >= 2,
      true,
    );
  });

  it('exporting and importing into a new account reproduces the same holdings', async () => {
    const pid = await newPortfolio(alice, 'EUR');
    const csv = `date,symbol,type,quantity,price,fee,currency,fx_rate,amount,ratio,note
2024-01-01,,deposit,,,,,,5000,,
2024-01-02,SAP,buy,3,33.3333333333,0.0000000001,,,,,
2024-01-02,AAPL,buy,10,100,1,USD,0.9,,,
2024-01-03,AAPL,split,,,,,,,1:3,reverse
2024-01-04,AAPL,sell,1,310,0.5,USD,0.95,,,
2024-01-05,SAP,sell,1,40,,,,,,
2024-01-06,AAPL,dividend,,,0.1,USD,0.93,2.5,,
2024-01-07,,interest,,,,,,0.01,,
`;
    assert.equal((await importCsv(alice, pid, csv)).statusCode, 201);
    const exported = await t.app.inject({ method: 'GET', url: '/v1/export', headers: alice.headers });
    assert.equal(exported.statusCode, 200);
    const doc = exported.json<{ format: string; portfolios: Array<Json & { transactions: Json[] }> }>();
    assert.equal(doc.format, 'financehub.export');
    const mine = doc.portfolios.find((p) => p.id === pid);
    assert.ok(mine);
    assert.equal(mine.transactions.length, 8);
    assert.ok(mine.transactions.every((tx) => typeof tx.fee === 'string'));

    const carol = await createUser(t);
    const imported = await t.app.inject({ method: 'POST', url: '/v1/import', headers: carol.headers, payload: { ...doc, portfolios: [mine] } });
    assert.equal(imported.statusCode, 201, imported.body);
    const created = imported.json<{ portfolios: Array<{ id: string; source_id: string }> }>().portfolios[0];
    assert.ok(created);
    assert.equal(created.source_id, pid);
    assert.notEqual(created.id, pid);
    assert.deepEqual(await holdings(carol, created.id).then(strip), await holdings(alice, pid).then(strip));

    // Carol's export holds only Carol's data
    const carolExport = await t.app.inject({ method: 'GET', url: '/v1/export', headers: carol.headers });
    assert.deepEqual(
      carolExport.json<{ portfolios: Json[] }>().portfolios.map((p) => p.id),
      [created.id],
    );
  });

  it('a JSON import stores transactions in time order, ties in document order, across thousands of rows; an oversold document is a 422 that creates nothing', async () => {
    // 5,000 buys listed newest first, in pairs at the same time: ordering them takes the
    // import's sorted runs and merges, not only the already-in-order pass.
    const ROWS = 5_000;
    const day = (i: number) => new Date(Date.UTC(2001, 0, 1) + Math.floor(i / 2) * 3_600_000).toISOString();
    const tx = (i: number, fields: Json) => ({ fee: '0', currency: 'USD', executed_at: day(i), note: `row ${i}`, ...fields });
    const rows = [tx(-2, { type: 'deposit', amount: '1000000' })];
    for (let i = ROWS - 1; i >= 0; i--) rows.push(tx(i, { type: 'buy', symbol: 'ORD', quantity: '1', price: '1' }));
    const doc = (transactions: Json[]) => ({ format: 'financehub.export', version: 1, portfolios: [{ name: 'Ordered', base_currency: 'USD', transactions }] });
    const dave = await createUser(t);
    const imported = await t.app.inject({ method: 'POST', url: '/v1/import', headers: dave.headers, payload: doc(rows) });
    assert.equal(imported.statusCode, 201, imported.body);
    const pid = imported.json<{ portfolios: Array<{ id: string }> }>().portfolios[0]?.id;
    const stored = await t.db.query<{ note: string }>('SELECT note FROM transactions WHERE portfolio_id = $1 ORDER BY seq', [pid]);
    // Times rise with i; the pair (2k, 2k + 1) shares one, listed 2k + 1 first.
    const expected = ['row -2'];
    for (let k = 0; k < ROWS / 2; k++) expected.push(`row ${2 * k + 1}`, `row ${2 * k}`);
    assert.deepEqual(stored.rows.map((r) => r.note), expected);

    // A sell listed first but dated after the buys replays after them: accepted. One share
    // more than bought is a 422, and neither the portfolio nor any row of it is kept.
    const sell = (quantity: string) => tx(ROWS + 2, { type: 'sell', symbol: 'ORD', quantity, price: '2' });
    const before = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolios WHERE user_id = $1', [dave.userId]);
    const oversold = await t.app.inject({ method: 'POST', url: '/v1/import', headers: dave.headers, payload: doc([sell(String(ROWS + 1)), ...rows]) });
    assert.equal(oversold.statusCode, 422, oversold.body);
    assert.equal(oversold.json<Json>().code, 'insufficient_quantity');
    const afterRefusal = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolios WHERE user_id = $1', [dave.userId]);
    assert.equal(afterRefusal.rows[0]?.n, before.rows[0]?.n);
    const accepted = await t.app.inject({ method: 'POST', url: '/v1/import', headers: dave.headers, payload: doc([sell(String(ROWS)), ...rows]) });
    assert.equal(accepted.statusCode, 201, accepted.body);
  });

  it('FAIL-013: user B importing into or exporting user A’s portfolio gets 404 / only B’s data', async () => {
    const pid = await newPortfolio(alice);
    const csv = 'date,type,amount\n2024-01-01,deposit,100\n';
    for (const dry of [true, false]) {
      const res = await importCsv(bob, pid, csv, dry);
      assert.equal(res.statusCode, 404, res.body);
      assert.equal(res.json<Json>().code, 'not_found');
    }
    assert.equal(await countFor(pid), 0);
    const bobExport = await t.app.inject({ method: 'GET', url: '/v1/export', headers: bob.headers });
    assert.equal(bobExport.statusCode, 200);
    assert.doesNotMatch(bobExport.body, new RegExp(pid));
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/export' });
    assert.equal(anonymous.statusCode, 401);
  });

  it('CLI: financehub import transactions --portfolio ID FILE.csv writes through the same rules and draws progress', async () => {
    const pid = await newPortfolio(alice);
    const dir = mkdtempSync(join(tmpdir(), 'fh-import-'));
    try {
      const file = join(dir, 'trades.csv');
      writeFileSync(file, BROKER_CSV);
      const out: string[] = [];
      const err: string[] = [];
      let progress = '';
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          progress += chunk.toString();
          done();
        },
      });
      const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s), progress: stream };
      const deps = { db: t.db, logger: createLogger(t.config.logLevel, t.logs) };
      const code = await importTransactionsFile(deps, { portfolioId: pid, file, dryRun: false }, io);
      assert.equal(code, 0, err.join('\n'));
      assert.match(out.join('\n'), /imported 4/);
      assert.ok(progress.length > 0);
      assert.equal(await countFor(pid), 4);

      const unknown = await importTransactionsFile(deps, { portfolioId: randomUUID(), file, dryRun: false }, io);
      assert.equal(unknown, 1);
      assert.match(err.join('\n'), /not found/);

      writeFileSync(file, 'date,type,amount\n2024-01-01,deposit,1e5\n');
      const bad = await importTransactionsFile(deps, { portfolioId: pid, file, dryRun: false }, io);
      assert.equal(bad, 1);
      assert.match(err.join('\n'), /line 2.*amount/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Holdings without what legitimately differs between two copies (ids, timestamps). */
function strip(h: Json): Json {
  const copy = JSON.parse(JSON.stringify(h)) as Json & { items: Array<Json & { lots: Json[] }> };
  delete copy.portfolio_id;
  for (const item of copy.items) {
    for (const lot of item.lots) delete lot.transaction_id;
  }
  return copy;
}
