// `financehub indicators` end to end: the real command through runCli with a buffer Io,
// and once as a real process (bin/financehub.js) on a small fixture file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runCli } from '../../../src/main.ts';
import { computeIndicators } from '../../../src/modules/indicators/index.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SMALL = path.join(ROOT, 'test/fixtures/indicators/prices-small.csv');
const TTRC = path.join(ROOT, 'test/fixtures/ttrc.csv');
const dir = mkdtempSync(path.join(os.tmpdir(), 'financehub-indicators-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['indicators', ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

function writeCsv(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const ttrcRows = readFileSync(TTRC, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));

describe('financehub indicators', () => {
  it('FAIL-007: formula-looking cells from the input are written neutralised (leading quote), numbers untouched', async () => {
    const input = writeCsv('formula.csv', 'Date,Close\n=1+1,10\n@SUM(A1),11\n"+cmd|calc",12\n');
    const output = path.join(dir, 'formula-out.csv');
    const { code, err } = await cli('--input', input, '--output', output, '--indicators', 'sma:2');
    assert.equal(code, 0, err);
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    assert.deepEqual(lines.slice(1), ["'=1+1,10,", "'@SUM(A1),11,10.5", "'+cmd|calc,12,11.5"]);
  });

  it('writes date, close and the ten default columns for ttrc.csv to --output', async () => {
    const output = path.join(dir, 'ttrc-out.csv');
    const { code, err } = await cli('--input', TTRC, '--output', output);
    assert.equal(code, 0, err);
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'date,close,sma_20,ema_20,rsi_14,macd_12_26_9,macd_signal_12_26_9,macd_hist_12_26_9,bb_lower_20_2,bb_middle_20_2,bb_upper_20_2,atr_14');
    assert.equal(lines.length, 5551);
    assert.equal(lines[1], '1985-01-02,3.08,,,,,,,,,,');
    // Bar 33 is the first with every column filled; values are the module's, unrounded.
    const bars = ttrcRows.map(([date, open, high, low, close]) => ({ date: date!, open: open!, high: high!, low: low!, close: close! }));
    const expected = computeIndicators(bars);
    const cells = lines[34]!.split(',');
    assert.equal(cells[0], ttrcRows[33]![0]);
    expected.forEach((c, j) => assert.equal(cells[j + 2], c.values[33]));
    assert.ok(cells.slice(2).every((v) => v !== '' && !/e/i.test(v)));
    assert.ok(cells[3]!.split('.')[1]!.length >= 12, 'EMA keeps at least 12 places');
    assert.equal(lines[14]!.split(',')[4], '', 'RSI(14) is empty before bar 14');
    assert.notEqual(lines[15]!.split(',')[4], '', 'RSI(14) starts at bar 14');
  });

  it('writes to stdout without --output, in the order the list gives, with case-insensitive headers', async () => {
    const { code, out, err } = await cli('--input', SMALL, '--indicators', 'atr:3, bbands:5:2.5 ,sma:4');
    assert.equal(code, 0, err);
    const lines = out.split('\n');
    assert.equal(lines[0], 'date,close,atr_3,bb_lower_5_2.5,bb_middle_5_2.5,bb_upper_5_2.5,sma_4');
    assert.equal(lines.length, 41);
    assert.equal(lines[3], '1985-01-04,3.09,,,,,', 'nothing is full before bar 3');
    assert.equal(lines[4], '1985-01-07,3.1,0.053333333333333333333333333333,,,,3.095', 'ATR(3) and SMA(4) start at bar 3');
    assert.equal(lines[5]!.split(',')[4], '3.098', 'Bollinger(5) starts at bar 4');
  });

  it('refuses a bad row with its line number and reason, and writes nothing', async () => {
    const output = path.join(dir, 'never.csv');
    const bad = writeCsv('bad.csv', 'Date,Open,High,Low,Close,Volume\n2020-01-01,1,2,1,1.5,10\n2020-01-02,1,2,1,1.6,10\n2020-01-03,1,2,1,12abc,10\n');
    let r = await cli('--input', bad, '--output', output, '--indicators', 'sma:2');
    assert.equal(r.code, 1);
    assert.match(r.err, /bad\.csv: line 4: Close "12abc" is not a plain decimal number/);
    assert.equal(existsSync(output), false);

    const inverted = writeCsv('inverted.csv', 'Date,High,Low,Close\n2020-01-01,2,1,1.5\n2020-01-02,1,2,1.5\n');
    r = await cli('--input', inverted);
    assert.equal(r.code, 1);
    assert.match(r.err, /line 3: High 1 is below Low 2/);

    const unordered = writeCsv('unordered.csv', 'Date,Close\n2020-01-02,1\n2020-01-01,2\n');
    r = await cli('--input', unordered, '--indicators', 'sma:1');
    assert.equal(r.code, 1);
    assert.match(r.err, /line 3: Date 2020-01-01 is not after 2020-01-02/);

    const places = writeCsv('places.csv', 'Date,Close\n2020-01-01,1\n2020-01-02,1.123456789\n');
    r = await cli('--input', places, '--indicators', 'sma:1');
    assert.equal(r.code, 1);
    assert.match(r.err, /line 3: close has more than 8 decimal places/);

    const noClose = writeCsv('noclose.csv', 'Date,Open\n2020-01-01,1\n');
    r = await cli('--input', noClose);
    assert.equal(r.code, 1);
    assert.match(r.err, /missing column\(s\) close, high, low/);
  });

  it('answers usage errors with exit 2 and --help with the usage', async () => {
    let r = await cli('--input', SMALL, '--indicators', 'sma:0');
    assert.equal(r.code, 2);
    assert.match(r.err, /--indicators: "sma:0": period must be/);
    r = await cli();
    assert.equal(r.code, 2);
    assert.match(r.err, /--input FILE\.csv is required/);
    r = await cli('--input', path.join(dir, 'missing.csv'));
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot read/);
    r = await cli('--help');
    assert.equal(r.code, 0);
    assert.match(r.out, /^financehub indicators --input FILE\.csv \[--output OUT\.csv\] \[--indicators LIST\] \[--places N\]/);
    r = await cli('--input', SMALL, '--places', '31');
    assert.equal(r.code, 2);
    assert.match(r.err, /--places must be a whole number from 0 to 30/);
  });

  it('--places N rounds every value half up to exactly N decimals from its full-precision value', async () => {
    const full = await cli('--input', SMALL, '--indicators', 'sma:20,rsi:14');
    const rounded = await cli('--input', SMALL, '--indicators', 'sma:20,rsi:14', '--places', '4');
    assert.equal(rounded.code, 0, rounded.err);
    const fullLines = full.out.split('\n');
    const lines = rounded.out.split('\n');
    assert.equal(lines[0], 'date,close,sma_20,rsi_14');
    // 1985-01-29: SMA 3.242 exactly; RSI from its 30-place value, by hand on the digits.
    const [, , sma, rsi] = lines[20]!.split(',');
    const fullRsi = fullLines[20]!.split(',')[3]!;
    assert.equal(sma, '3.2420');
    const [int, frac] = fullRsi.split('.') as [string, string];
    const kept = BigInt(int + frac.slice(0, 4)) + (Number(frac[4]) >= 5 ? 1n : 0n);
    assert.equal(rsi, `${kept / 10000n}.${String(kept % 10000n).padStart(4, '0')}`);
    for (const line of lines.slice(1)) for (const cell of line.split(',').slice(2)) assert.ok(cell === '' || /^\d+\.\d{4}$/.test(cell), cell);
  });

  it('runs as a real process: node bin/financehub.js indicators on a fixture file', async () => {
    const output = path.join(dir, 'small-out.csv');
    // process.execPath is the Node 24 running this test (the project's pinned node).
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/financehub.js', 'indicators', '--input', SMALL, '--output', output, '--indicators', 'sma:20,rsi:14'], { cwd: ROOT });
    assert.equal(stdout, '');
    assert.equal(stderr, '');
    const lines = readFileSync(output, 'utf8').trimEnd().split('\n');
    assert.equal(lines[0], 'date,close,sma_20,rsi_14');
    const rsi = computeIndicators(ttrcRows.slice(0, 40).map((r) => ({ close: r[4]! })), 'rsi:14')[0]!.values[19];
    assert.equal(lines[20], `1985-01-29,3.42,3.242,${rsi}`);
    const failed = await promisify(execFile)(process.execPath, ['bin/financehub.js', 'indicators', '--input', SMALL, '--indicators', 'nope'], { cwd: ROOT }).then(
      () => undefined,
      (err: unknown) => err as { code: number; stderr: string },
    );
    assert.equal(failed?.code, 2);
    assert.match(failed.stderr, /unknown indicator/);
  });
});
