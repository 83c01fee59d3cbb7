// `financehub import transactions` reads files with the same options as the HTTP import:
// --preset, --map Header=field, --ignore Header, --mapping NAME, --delimiter,
// --date-format, --decimal; bad option values are usage errors (exit 2) before any file
// is read. Runs the command's function on the test app's database, and its option table
// through node:util parseArgs as the CLI does.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseArgs } from 'node:util';
import { importTransactionsCommand, importTransactionsFile, type ImportFileOptions } from '../../../src/cli/commands/import-transactions.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { createUser, type CreatedUser } from '../../helpers/auth.ts';
import { buildTestApp, usingRedis, type TestApp } from '../../helpers/build-test-app.ts';
import { PORTFOLIO_ROWS_MAX_AGE_MS } from '../../../src/modules/portfolios/index.ts';
import { createPortfolio } from '../../helpers/portfolios.ts';

interface Tx {
  type: string;
  symbol: string | null;
  quantity: string | null;
  price: string | null;
  amount: string | null;
  fee: string;
  executed_at: string;
}

describe('financehub import transactions: file options, and running instances hearing of the import', () => {
  let t: TestApp;
  let alice: CreatedUser;
  let dir: string;

  before(async () => {
    t = await buildTestApp();
    alice = await createUser(t);
    dir = mkdtempSync(join(tmpdir(), 'fh-import-cli-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  /** Runs the command's work on a file holding `text`; returns the exit code and what it printed. */
  async function runImport(text: string, options: Omit<ImportFileOptions, 'file'>): Promise<{ code: number; out: string; err: string }> {
    const file = join(dir, `${Math.random().toString(36).slice(2)}.csv`);
    writeFileSync(file, text);
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
    const code = await importTransactionsFile({ db: t.db, logger: createLogger(t.config.logLevel, t.logs) }, { ...options, file }, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }
  async function stored(pid: string): Promise<string[]> {
    const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/transactions?sort=executed_at&order=asc&limit=100`, headers: alice.headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ items: Tx[] }>().items.map((tx) => [tx.type, tx.symbol, tx.quantity, tx.price, tx.amount, tx.fee, tx.executed_at].map((v) => v ?? '-').join(' '));
  }

  it('--preset schwab reads a Schwab export; without it the "Fees & Comm" column is an unknown column and nothing is imported (exit 1)', async () => {
    const schwab = readFileSync(new URL('../../fixtures/imports/schwab.csv', import.meta.url), 'utf8');
    const pid = await createPortfolio(t, alice, 'USD');
    const plain = await runImport(schwab, { portfolioId: pid, dryRun: false });
    assert.equal(plain.code, 1);
    assert.match(plain.err, /line 1: Fees & Comm: unknown column "Fees & Comm"/);
    assert.deepEqual(await stored(pid), []);

    const withPreset = await runImport(schwab, { portfolioId: pid, dryRun: false, preset: 'schwab' });
    assert.equal(withPreset.code, 0, withPreset.err);
    assert.match(withPreset.out, /imported 6 transactions/);
    assert.ok((await stored(pid)).includes('sell AAPL 2 175 - 0.02 2024-03-18T00:00:00.000Z'));
  });

  it('--map, --ignore, --delimiter, --date-format and --decimal read a semicolon file with ambiguous dates and decimal commas', async () => {
    const pid = await createPortfolio(t, alice, 'EUR');
    const csv = 'Buchungstag;Art;Wertpapier;Stück;Kurs;Gebühr;Verwendungszweck\n03/04/2024;buy;SAP;2;1.234,56;0,99;Sparplan\n';
    const unmapped = await runImport(csv, { portfolioId: pid, dryRun: true, delimiter: 'semicolon', decimal: 'comma' });
    assert.equal(unmapped.code, 1);
    assert.match(unmapped.err, /unknown column "Buchungstag"/);

    const options = {
      portfolioId: pid,
      dryRun: false,
      map: ['Buchungstag=executed_at', 'Art=type', 'Wertpapier=symbol', 'Stück=quantity', 'Kurs=price', 'Gebühr=fee'],
      ignore: ['Verwendungszweck'],
      delimiter: 'semicolon',
      decimal: 'comma',
    };
    const ambiguous = await runImport(csv, options);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.err, /more than one format.*date_format/);
    const done = await runImport(csv, { ...options, dateFormat: 'dd/MM/yyyy' });
    assert.equal(done.code, 0, done.err);
    assert.deepEqual(await stored(pid), ['buy SAP 2 1234.56 - 0.99 2024-04-03T00:00:00.000Z']);
  });

  it('--mapping NAME uses the owner\'s saved mapping, the command line wins over it, and an unknown mapping is an error (exit 1)', async () => {
    const create = await t.app.inject({
      method: 'POST',
      url: '/v1/import/mappings',
      headers: alice.headers,
      payload: { name: 'bank', delimiter: 'semicolon', date_format: 'dd.MM.yyyy', columns: { Tag: 'executed_at', Betrag: 'amount', Art: 'type' }, ignore: ['Text'] },
    });
    assert.equal(create.statusCode, 201, create.body);
    const pid = await createPortfolio(t, alice, 'EUR');
    const csv = 'Tag;Art;Betrag;Text\n15.03.2024;deposit;100.50;Lohn\n';
    const saved = await runImport(csv, { portfolioId: pid, dryRun: false, mapping: 'bank' });
    assert.equal(saved.code, 0, saved.err);
    assert.deepEqual(await stored(pid), ['deposit - - - 100.5 0 2024-03-15T00:00:00.000Z']);

    const overridden = await runImport('Tag;Art;Betrag;Text\n2024-03-16;deposit;"1,5";Lohn\n', { portfolioId: pid, dryRun: false, mapping: 'bank', dateFormat: 'yyyy-MM-dd', decimal: 'comma' });
    assert.equal(overridden.code, 0, overridden.err);
    assert.equal((await stored(pid)).at(-1), 'deposit - - - 1.5 0 2024-03-16T00:00:00.000Z');

    const missing = await runImport(csv, { portfolioId: pid, dryRun: true, mapping: 'nope' });
    assert.equal(missing.code, 1);
    assert.match(missing.err, /not found/i);
  });

  it('bad option values are usage errors (exit 2) naming the option and its allowed values', async () => {
    const pid = await createPortfolio(t, alice, 'USD');
    const cases: Array<[Partial<ImportFileOptions>, RegExp]> = [
      [{ preset: 'robinhood' }, /--preset must be one of ghostfolio, wealthfolio, schwab/],
      [{ delimiter: 'pipe' }, /--delimiter must be comma, semicolon or tab/],
      [{ dateFormat: 'yy-M-d' }, /--date-format must be one of yyyy-MM-dd/],
      [{ decimal: 'dot' }, /--decimal must be point or comma/],
      [{ map: ['Fees & Comm'] }, /--map must be Header=field/],
      [{ map: ['Fees=commission'] }, /--map must be Header=field with field one of executed_at/],
      [{ map: ['=fee'] }, /--map must be Header=field/],
      [{ ignore: [' '] }, /--ignore needs a header name/],
    ];
    for (const [bad, message] of cases) {
      const res = await runImport('date,type,amount\n2024-01-02,deposit,1\n', { portfolioId: pid, dryRun: false, ...bad });
      assert.equal(res.code, 2, JSON.stringify(bad));
      assert.match(res.err, message);
    }
    assert.deepEqual(await stored(pid), []);
  });

  it('the command line parses repeated --map and --ignore into lists (node:util parseArgs with the command\'s option table)', () => {
    const { values, positionals } = parseArgs({
      args: ['--portfolio', 'p', '--preset', 'degiro', '--map', 'A=fee', '--map', 'B=note', '--ignore', 'C', '--ignore', 'D', '--mapping', 'm', '--delimiter', 'tab', '--date-format', 'dd.MM.yyyy', '--decimal', 'comma', 'f.csv'],
      options: importTransactionsCommand.options ?? {},
      allowPositionals: true,
      strict: true,
    });
    assert.deepEqual(values.map, ['A=fee', 'B=note']);
    assert.deepEqual(values.ignore, ['C', 'D']);
    assert.equal(values['date-format'], 'dd.MM.yyyy');
    assert.deepEqual(positionals, ['f.csv']);
  });

  // Without Redis no event can leave the command's process; the instance then trusts its
  // copy of the rows for at most PORTFOLIO_ROWS_MAX_AGE_MS.noBus (1 s), tested with the cache.
  it('an import through the command reaches a running instance\'s holdings at once, not after the copy of the rows expires', { skip: usingRedis ? false : 'needs TEST_REDIS_URL: without Redis no event leaves the command\'s process' }, async () => {
    const pid = await createPortfolio(t, alice, 'USD');
    const cash = async () => {
      const res = await t.app.inject({ method: 'GET', url: `/v1/portfolios/${pid}/holdings`, headers: alice.headers });
      assert.equal(res.statusCode, 200, res.body);
      return res.json<{ cash: string }>().cash;
    };
    assert.equal(await cash(), '0.00'); // the instance now holds the rows and their replay
    const file = join(dir, 'deposit.csv');
    writeFileSync(file, 'Tag,Art,Betrag\n2024-03-15,deposit,100.50\n');
    const io = { out: () => undefined, err: (s: string) => assert.fail(s) };
    const options = { portfolioId: pid, file, dryRun: false, map: ['Tag=executed_at', 'Art=type', 'Betrag=amount'], dateFormat: 'yyyy-MM-dd' };
    const code = await importTransactionsFile({ db: t.db, logger: createLogger(t.config.logLevel, t.logs), redis: t.redis }, options, io);
    assert.equal(code, 0);
    // The event travels through Redis; the copy would be trusted for PORTFOLIO_ROWS_MAX_AGE_MS.bus (5 s).
    const started = Date.now();
    let seen = await cash();
    while (seen === '0.00' && Date.now() - started < PORTFOLIO_ROWS_MAX_AGE_MS.bus) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = await cash();
    }
    assert.equal(seen, '100.50');
    assert.ok(Date.now() - started < 1000, `the import reached the instance after ${Date.now() - started} ms`);
  });
});
