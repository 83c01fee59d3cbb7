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
});
