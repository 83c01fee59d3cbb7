import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Decimal } from '../../money/index.ts';
import { AppError } from '../../platform/errors.ts';
import { compareDecimal, parsePriceCsv, streamedPriceCsv } from './csv-import.ts';

const TTRC = readFileSync(new URL('../../../test/fixtures/ttrc.csv', import.meta.url), 'utf8');

function rowError(text: string): AppError {
  try {
    parsePriceCsv(text);
  } catch (err) {
    assert.ok(err instanceof AppError);
    return err;
  }
  assert.fail('expected the CSV to be refused');
}

describe('price CSV parsing', () => {
  it('reads ttrc.csv: 5,550 daily bars, exact values', () => {
    const { interval, bars } = parsePriceCsv(TTRC);
    assert.equal(interval, '1d');
    assert.equal(bars.length, 5550);
    assert.deepEqual(bars[0], { ts: new Date('1985-01-02T00:00:00Z'), open: '3.18', high: '3.18', low: '3.08', close: '3.08', volume: '1870906' });
  });

  it('headers are case-insensitive, in any order; other columns are ignored', () => {
    const { bars } = parsePriceCsv('volume,CLOSE,Adj Close,low,HIGH,open,DATE\n100,"2.5",9,2,3,2.25,2024-01-02\n');
    assert.deepEqual(bars[0], { ts: new Date('2024-01-02T00:00:00Z'), open: '2.25', high: '3', low: '2', close: '2.5', volume: '100' });
  });

  it('dates with times make one-minute bars', () => {
    const { interval, bars } = parsePriceCsv('Date,Open,High,Low,Close,Volume\n2024-01-02T14:30:00Z,1,1,1,1,0\n2024-01-02 14:31,1,1,1,1,0\n2024-01-02T09:32:00-05:00,1,1,1,1,0\n');
    assert.equal(interval, '1m');
    assert.deepEqual(bars.map((b) => b.ts.toISOString()), ['2024-01-02T14:30:00.000Z', '2024-01-02T14:31:00.000Z', '2024-01-02T14:32:00.000Z']);
  });

  it('a bad row is reported with its line number, column and reason', () => {
    const head = 'Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,1.5,10\n';
    const cases: Array<[string, number, string, RegExp]> = [
      [`${head}2024-01-03,1,2,1,abc,10\n`, 3, 'close', /not a non-negative decimal/],
      [`${head}\n2024-01-03,1,2,1,1e3,10\n`, 4, 'close', /not a non-negative decimal/],
      [`${head}2024-02-30,1,2,1,1,10\n`, 3, 'date', /not a calendar date/],
      [`${head}2024-01-02,1,2,1,1,10\n`, 3, 'date', /appears twice/],
      [`${head}2024-01-03,1,2,3,1,10\n`, 3, 'low', /above high/],
      [`${head}2024-01-03,1,2,1,2.5,10\n`, 3, 'close', /above high/],
      [`${head}2024-01-03,1,2,1,1,-10\n`, 3, 'volume', /not a non-negative decimal/],
      [`${head}2024-01-03,1,2,1,,10\n`, 3, 'close', /is empty/],
      [`${head}2024-01-03T10:00:00Z,1,2,1,1,10\n`, 3, 'date', /mixes/],
      ['Date,Open,High,Low,Volume\n2024-01-02,1,2,1,10\n', 1, 'close', /no "close" column/],
    ];
    for (const [text, line, column, reason] of cases) {
      const err = rowError(text);
      assert.equal(err.status, 422);
      assert.equal(err.code, 'invalid_csv_row');
      assert.deepEqual({ line: err.extra?.line, column: err.extra?.column }, { line, column }, text);
      assert.match(err.detail ?? '', reason);
      assert.match(err.detail ?? '', new RegExp(`^line ${line}, ${column}:`));
    }
  });

  it('compares decimal strings exactly (agrees with Decimal)', () => {
    const dec = fc.tuple(fc.nat({ max: 10_000_000 }), fc.nat({ max: 999_999 })).map(([i, f]) => `${i}.${String(f).padStart(6, '0').replace(/0+$/, '') || '0'}`);
    fc.assert(
      fc.property(dec, dec, (a, b) => {
        assert.equal(compareDecimal(a, b), new Decimal(a).comparedTo(new Decimal(b)));
      }),
    );
    assert.equal(compareDecimal('007.50', '7.5'), 0);
  });

  it('FAIL-023: a streamed file that fails mid-read ends the check with a 422 naming the error, never an unhandled stream error', async () => {
    const text = 'Date,Open,High,Low,Close,Volume\n"2024-01-02",1,1,1,1,0\n2024-01-03,1,1,1,1,0\n';
    let opened = 0;
    // The first read (looking for quotes) succeeds; the second, the quoted parse, fails.
    const open = () => {
      opened += 1;
      if (opened === 1) return Readable.from([Buffer.from(text)]);
      const failing = new Readable({ read() {} });
      failing.push(Buffer.from(text.slice(0, 40)));
      setImmediate(() => failing.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })));
      return failing;
    };
    await assert.rejects(streamedPriceCsv(open).check(), (err: unknown) => {
      assert.ok(err instanceof AppError, String(err));
      assert.equal(err.status, 422);
      assert.match(err.detail ?? '', /not a readable CSV file \(EIO/);
      return true;
    });
  });
});
