// `financehub import prices`: the command's work on a real (test) database.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importPricesFile } from '../../../src/cli/commands/import-prices.ts';
import { runCli } from '../../../src/main.ts';
import { createLogger } from '../../../src/platform/logger.ts';
import { buildTestApp, type TestApp } from '../../helpers/build-test-app.ts';

const TTRC = fileURLToPath(new URL('../../fixtures/ttrc.csv', import.meta.url));

describe('financehub import prices', () => {
  let t: TestApp;
  let dir: string;
  before(async () => {
    t = await buildTestApp({ env: { MARKET_DATA_PROVIDER: 'none' } });
    dir = mkdtempSync(path.join(os.tmpdir(), 'fh-prices-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  const run = async (symbol: string, file: string) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await importPricesFile({ db: t.db, logger: createLogger('silent'), config: t.config }, { symbol, file }, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const stored = async (symbol: string) =>
    (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM price_bars WHERE symbol = $1', [symbol])).rows[0]?.n;

  it('imports ttrc.csv, then re-imports idempotently', async () => {
    const first = await run('ttrc', TTRC);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out, 'imported 5550 1d bars for TTRC: 5550 new, 0 changed, 0 already stored');
    const second = await run('TTRC', TTRC);
    assert.equal(second.out, 'imported 5550 1d bars for TTRC: 0 new, 0 changed, 5550 already stored');
    assert.equal(await stored('TTRC'), 5550);
  });

  it('a bad row: its line and column on stderr, exit 1, nothing written', async () => {
    const file = path.join(dir, 'bad.csv');
    writeFileSync(file, 'DATE,OPEN,HIGH,LOW,CLOSE,VOLUME\n2024-01-02,1,2,1,1.5,10\n2024-01-03,1,2,0.5,2,ten\n');
    const result = await run('BAD', file);
    assert.equal(result.code, 1);
    assert.match(result.err, /line 3, volume: "ten" is not a non-negative decimal number/);
    assert.equal(await stored('BAD'), 0);
  });

  it('refuses a bad symbol or a missing file, and explains its usage', async () => {
    assert.equal((await run('BAD$', TTRC)).code, 2);
    assert.match((await run('OK', path.join(dir, 'missing.csv'))).err, /cannot read/);
    const err: string[] = [];
    assert.equal(await runCli(['import', 'prices', TTRC], { out: () => undefined, err: (s) => err.push(s) }), 2);
    assert.match(err.join('\n'), /--symbol SYM and one FILE.csv are required/);
  });

  it('streams minute bars (COPY on PostgreSQL) and leaves the rollups equal to the bars; a changed bar is counted and re-rolled', async () => {
    const file = path.join(dir, 'minutes.csv');
    const lines = ['Date,Open,High,Low,Close,Volume'];
    const start = Date.parse('2026-10-30T23:00:00Z');
    for (let i = 0; i < 3000; i++) {
      const p = 100 + (i % 17);
      lines.push(`${new Date(start + i * 60_000).toISOString()},${p},${p + 1},${p - 1},${p}.5,${i}`);
    }
    writeFileSync(file, `${lines.join('\n')}\n`);
    const first = await run('MIN', file);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out, 'imported 3000 1m bars for MIN: 3000 new, 0 changed, 0 already stored');
    const check = async () => {
      const { rows } = await t.db.query<{ width: string; mismatches: number; buckets: number }>(
        `WITH expected AS (
           SELECT w.width, date_bin(w.step, ts, timestamptz '2000-01-03') AS bucket, (array_agg(open ORDER BY ts))[1] AS open,
             max(high) AS high, min(low) AS low, (array_agg(close ORDER BY ts DESC))[1] AS close, sum(volume) AS volume
           FROM price_bars CROSS JOIN (VALUES ('5m', interval '5 minutes'), ('1h', interval '1 hour'), ('1d', interval '1 day')) w(width, step)
           WHERE symbol = 'MIN' AND "interval" = '1m' GROUP BY 1, 2)
         SELECT e.width, count(*)::int AS buckets,
           count(*) FILTER (WHERE r.bucket IS NULL OR (r.open, r.high, r.low, r.close, r.volume) IS DISTINCT FROM (e.open, e.high, e.low, e.close, e.volume))::int AS mismatches
         FROM expected e LEFT JOIN price_rollups r ON r.symbol = 'MIN' AND r.width = e.width AND r.bucket = e.bucket
         GROUP BY 1 ORDER BY 1`,
      );
      assert.deepEqual(rows.map((r) => [r.width, r.mismatches]), [['1d', 0], ['1h', 0], ['5m', 0]]);
      return rows;
    };
    const counts = await check();
    assert.deepEqual(counts.map((r) => r.buckets), [4, 50, 600]);
    lines[1500] = `${new Date(start + 1499 * 60_000).toISOString()},100,999,1,998,1`;
    writeFileSync(file, `${lines.join('\n')}\n`);
    assert.equal((await run('MIN', file)).out, 'imported 3000 1m bars for MIN: 0 new, 1 changed, 2999 already stored');
    await check();
  });

  it('a quoted file goes through the general CSV parser with the same checks', async () => {
    const file = path.join(dir, 'quoted.csv');
    writeFileSync(file, '"Date","Open","High","Low","Close","Volume","Note"\n"2024-01-02","1","2","1","1.5","10","a, b"\n"2024-01-03","1","2","0.5","2","ten","c"\n');
    assert.match((await run('QUO', file)).err, /line 3, volume: "ten" is not a non-negative decimal number/);
    writeFileSync(file, '"Date","Open","High","Low","Close","Volume","Note"\n"2024-01-02","1","2","1","1.5","10","a, b"\n');
    assert.equal((await run('QUO', file)).out, 'imported 1 1d bars for QUO: 1 new, 0 changed, 0 already stored');
  });

  it('an unordered file is checked for duplicates too; nothing is written when one is found', async () => {
    const file = path.join(dir, 'unordered.csv');
    writeFileSync(file, 'Date,Open,High,Low,Close,Volume\n2024-01-03,1,2,1,1.5,10\n2024-01-02,1,2,1,1.5,10\n2024-01-04,1,2,1,1.5,10\n2024-01-02,1,2,1,1.5,10\n');
    const result = await run('UNO', file);
    assert.equal(result.code, 1);
    assert.match(result.err, /line 5, date: 2024-01-02 appears twice/);
    assert.equal(await stored('UNO'), 0);
    writeFileSync(file, 'Date,Open,High,Low,Close,Volume\n2024-01-03,1,2,1,1.5,10\n2024-01-02,1,2,1,1.5,10\n');
    assert.equal((await run('UNO', file)).code, 0);
    assert.equal(await stored('UNO'), 2);
  });
});
