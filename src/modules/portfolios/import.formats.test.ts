// The shapes broker exports write values in: numbers rewritten as exact decimal strings
// (never through a float), dates in each supported format, the file's date format and
// delimiter; and the import's refusal to guess an ambiguous date format.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../../platform/errors.ts';
import { parseTransactionsCsv } from './import.csv.ts';
import { bestDateFormats, detectDelimiter, parseBrokerDate, parseBrokerNumber } from './import.formats.ts';
import { countLoopTurns } from '../../../test/helpers/stalls.ts';

describe('parseBrokerNumber', () => {
  it('FAIL-002: currency-formatted numbers become exact decimal strings', () => {
    const point: Array<[string, string]> = [
      ['$1,120.24', '1120.24'],
      ['-$1,726.20', '-1726.20'],
      ['$-3.00', '-3.00'],
      ['+€5', '5'],
      ['USD 1,234,567.891', '1234567.891'],
      ['12.50 EUR', '12.50'],
      ['£0.10', '0.10'],
      ['CHF 99', '99'],
      ['5-', '-5'],
      ['0.000', '0.000'],
      ['-0.00', '0.00'],
      ['007.5', '7.5'],
      ['.5', '0.5'],
      ['1,234', '1234'],
    ];
    for (const [text, plain] of point) assert.equal(parseBrokerNumber(text, 'point'), plain, text);
  });

  it('FAIL-002: accounting parentheses are a negative', () => {
    assert.equal(parseBrokerNumber('(12.50)', 'point'), '-12.50');
    assert.equal(parseBrokerNumber('($1,500.25)', 'point'), '-1500.25');
    assert.equal(parseBrokerNumber('(1.234,5)', 'comma'), '-1234.5');
  });

  it('FAIL-002: European decimals: 1.234,56, 1 234,56, 1\'234,56 and -2,00 with decimal=comma', () => {
    const comma: Array<[string, string]> = [
      ['1.234,56', '1234.56'],
      ['1 234,56', '1234.56'],
      ['1\u00a0234,56', '1234.56'],
      ["1'234,56", '1234.56'],
      ['-2,00', '-2.00'],
      ['€ 1.000.000,01', '1000000.01'],
      ['0,0001', '0.0001'],
      ['1.234', '1234'],
    ];
    for (const [text, plain] of comma) assert.equal(parseBrokerNumber(text, 'comma'), plain, text);
  });

  it('FAIL-002: digits beyond a double\'s precision come through exactly (never through a float)', () => {
    assert.equal(parseBrokerNumber('$123,456,789,012,345,678.123456789012', 'point'), '123456789012345678.123456789012');
    assert.equal(parseBrokerNumber('0.100000000000000005551115123125', 'point'), '0.100000000000000005551115123125');
    assert.equal(parseBrokerNumber('9.007.199.254.740.993,5', 'comma'), '9007199254740993.5');
  });

  it('refuses garbage and ambiguous values: no guess is ever made', () => {
    const refused: Array<[string, 'point' | 'comma']> = [
      ['', 'point'],
      ['   ', 'point'],
      ['abc', 'point'],
      ['$', 'point'],
      ['1e5', 'point'],
      ['1E-3', 'point'],
      ['0x10', 'point'],
      ['NaN', 'point'],
      ['Infinity', 'point'],
      ['1_000', 'point'],
      ['--5', 'point'],
      ['-$-3', 'point'],
      ['+-1', 'point'],
      ['(-5)', 'point'],
      ['(5', 'point'],
      ['12.5.3', 'point'],
      ['1,23.4', 'point'],
      ['1,2345.6', 'point'],
      ['1.234,56', 'point'],
      ['1,234.56', 'comma'],
      ['1.23,4', 'comma'],
      ['1,2,3', 'comma'],
      ['Not available', 'point'],
      [`1${'0'.repeat(31)}`, 'point'],
      [`0.${'1'.repeat(31)}`, 'point'],
    ];
    for (const [text, decimal] of refused) assert.equal(parseBrokerNumber(text, decimal), null, `${text} (${decimal})`);
  });
});

describe('parseBrokerDate', () => {
  it('reads each supported format and keeps times, fractions and zones', () => {
    assert.equal(parseBrokerDate('2024-03-15', 'yyyy-MM-dd'), '2024-03-15');
    assert.equal(parseBrokerDate('2024-03-15 14:30:01.612', 'yyyy-MM-dd'), '2024-03-15T14:30:01.612Z');
    assert.equal(parseBrokerDate('2024-03-15T10:00:00+0200', 'yyyy-MM-dd'), '2024-03-15T10:00:00+02:00');
    assert.equal(parseBrokerDate('3/5/2024', 'MM/dd/yyyy'), '2024-03-05');
    assert.equal(parseBrokerDate('03/15/2024 as of 03/14/2024', 'MM/dd/yyyy'), '2024-03-15');
    assert.equal(parseBrokerDate('15/03/2024', 'dd/MM/yyyy'), '2024-03-15');
    assert.equal(parseBrokerDate('15-03-2024 09:05', 'dd-MM-yyyy'), '2024-03-15T09:05:00Z');
    assert.equal(parseBrokerDate('15.03.2024', 'dd.MM.yyyy'), '2024-03-15');
    assert.equal(parseBrokerDate('20240315', 'yyyyMMdd'), '2024-03-15');
    assert.equal(parseBrokerDate('20240315;093000', 'yyyyMMdd'), '2024-03-15');
  });

  it('refuses days that are not on the calendar, wrong shapes and malformed times', () => {
    for (const [text, format] of [
      ['2024-02-30', 'yyyy-MM-dd'],
      ['2023-02-29', 'yyyy-MM-dd'],
      ['2024-13-01', 'yyyy-MM-dd'],
      ['15/03/2024', 'MM/dd/yyyy'],
      ['2024-03-15', 'dd-MM-yyyy'],
      ['2024-03-15 garbage', 'yyyy-MM-dd'],
      ['2024-03-15 25:00', 'yyyy-MM-dd'],
      ['2024-03-15 12:60', 'yyyy-MM-dd'],
      ['20241301', 'yyyyMMdd'],
      ['', 'yyyy-MM-dd'],
    ] as const) {
      assert.equal(parseBrokerDate(text, format), null, `${text} as ${format}`);
    }
  });
});

describe('bestDateFormats and the ambiguous-date refusal', () => {
  it('one format when the cells tell the formats apart; all candidates when they do not', async () => {
    assert.deepEqual((await bestDateFormats(['2024-03-04'])).formats, ['yyyy-MM-dd']);
    assert.deepEqual((await bestDateFormats(['03/04/2024', '05/06/2024'])).formats, ['MM/dd/yyyy', 'dd/MM/yyyy']);
    assert.deepEqual((await bestDateFormats(['03/04/2024', '13/04/2024'])).formats, ['dd/MM/yyyy']);
    assert.deepEqual((await bestDateFormats(['03/04/2024', '04/13/2024'])).formats, ['MM/dd/yyyy']);
    assert.deepEqual(await bestDateFormats(['31-02-2024']), { formats: [], reads: 0, of: 1 });
    assert.deepEqual(await bestDateFormats(['', '  ', '20240315']), { formats: ['yyyyMMdd'], reads: 1, of: 1 });
  });

  it('FAIL-023: the cells of a large file are read with turns of the event loop between them, and one late cell still settles the format', async () => {
    const samples = [...Array.from({ length: 20_000 }, () => '03/04/2024'), '13/04/2024'];
    const { result: best, turns } = await countLoopTurns(() => bestDateFormats(samples));
    assert.deepEqual(best, { formats: ['dd/MM/yyyy'], reads: 20_001, of: 20_001 });
    assert.ok(turns >= 20, `${turns} turns of the loop while reading 20,001 cells`);
  });

  it('a file whose every date reads as both MM/dd and dd/MM is refused with 400 ambiguous_date_format; date_format settles it', async () => {
    const csv = 'date,type,amount\n03/04/2024,deposit,100\n05/06/2024,deposit,100\n';
    await assert.rejects(parseTransactionsCsv(csv), (err: unknown) => {
      assert.ok(err instanceof AppError);
      assert.equal(err.status, 400);
      assert.equal(err.code, 'ambiguous_date_format');
      assert.match(err.detail ?? '', /MM\/dd\/yyyy, dd\/MM\/yyyy/);
      return true;
    });
    const { rows } = await parseTransactionsCsv(csv, { dateFormat: 'dd/MM/yyyy' });
    assert.deepEqual(rows.map((r) => r.raw.executed_at), ['2024-04-03', '2024-06-05']);
    const us = await parseTransactionsCsv(csv, { dateFormat: 'MM/dd/yyyy' });
    assert.deepEqual(us.rows.map((r) => r.raw.executed_at), ['2024-03-04', '2024-05-06']);
  });

  it('a file where a date the two formats disagree on is unreadable in one of them is not ambiguous', async () => {
    const { rows } = await parseTransactionsCsv('date,type,amount\n03/04/2024,deposit,1\n25/04/2024,deposit,1\n');
    assert.deepEqual(rows.map((r) => r.raw.executed_at), ['2024-04-03', '2024-04-25']);
  });
});

describe('detectDelimiter', () => {
  it('takes the most frequent of comma, semicolon and tab on the header line, outside quotes', () => {
    assert.equal(detectDelimiter('a,b,c\n1,2,3'), 'comma');
    assert.equal(detectDelimiter('Datum;Betrag;Art\n1;2;3'), 'semicolon');
    assert.equal(detectDelimiter('date\ttype\tamount\n'), 'tab');
    assert.equal(detectDelimiter('"a,b,c";d;e\n'), 'semicolon');
    assert.equal(detectDelimiter('\ufeff\n\nx;y\n'), 'semicolon');
    assert.equal(detectDelimiter('single\n'), 'comma');
  });
});
