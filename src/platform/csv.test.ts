import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvCell, neutraliseCsvCell, restoreCsvCell } from './csv.ts';

describe('csvCell', () => {
  it('FAIL-007: neutralises formula-looking cells (=, +, -, @, tab, CR) with a leading quote', () => {
    assert.equal(csvCell('=HYPERLINK("http://x","y")'), `"'=HYPERLINK(""http://x"",""y"")"`);
    assert.equal(csvCell('+cmd|calc'), "'+cmd|calc");
    assert.equal(csvCell('-2+3'), "'-2+3");
    assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
    assert.equal(csvCell('\t=1'), "'\t=1");
    assert.equal(csvCell('\r=1'), `"'\r=1"`);
  });

  it('leaves plain numbers and ordinary text alone, quoting only what CSV needs', () => {
    for (const plain of ['-1.5', '+2', '0', '101.25', '2024-01-02', 'AAPL']) assert.equal(csvCell(plain), plain);
    assert.equal(csvCell('a,b'), '"a,b"');
    assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  });

  it('FAIL-007: a quote already before a formula character gets one more, so restoreCsvCell undoes neutraliseCsvCell exactly', () => {
    assert.equal(neutraliseCsvCell("'=1"), "''=1");
    assert.equal(neutraliseCsvCell("'plain"), "'plain");
    const values = ['=1', "'=1", "''=1", "'", "''", "'-", '-', '-5 shares', '-1.5', '+2', "'-1.5", "it's", '@', '\t=1', 'a=b', '', 'AAPL'];
    for (const value of values) assert.equal(restoreCsvCell(neutraliseCsvCell(value)), value, JSON.stringify(value));
    for (const value of ["'plain", "it's", '-1.5', 'x']) assert.equal(restoreCsvCell(value), value);
  });
});
